"""The compiled parts, each in one C file that says what it does:

- detr_watch._jsonrows, a reader of log.txt lines;
- detr_watch._readblock, the tailer's read of complete lines without a copy.

Optional: where they cannot be built (no C compiler), the install goes on without them and
detr-watch reads with Python alone (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "detr_watch._jsonrows",
            sources=["detr_watch/_jsonrows.c"],
            optional=True,
        ),
        Extension(
            "detr_watch._readblock",
            sources=["detr_watch/_readblock.c"],
            optional=True,
        ),
    ]
)
