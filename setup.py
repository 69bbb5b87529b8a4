"""The one compiled part: detr_watch._jsonrows, a reader of log.txt lines (see its C file).

Optional: where it cannot be built (no C compiler), the install goes on without it and
detr-watch reads log.txt with its JSON parser alone (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "detr_watch._jsonrows",
            sources=["detr_watch/_jsonrows.c"],
            optional=True,
        )
    ]
)
