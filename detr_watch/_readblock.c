/* detr_watch._readblock: the tailer's read of the next bytes of a log, without copying them.

   read_lines(fd, partial, n) -> (nread, block, rest)

   One read(2) of up to n bytes from fd's position, into a bytes object that already starts with
   `partial` (the torn last line held from the read before). `block` is `partial` + the read up to
   its last newline (the newline not included), `rest` what follows that newline; block is None
   when the read holds no newline, and then `rest` is `partial` + the read. nread is 0 at the end
   of the file.

   In Python the same is `data = f.read(n)`, `block = partial + data[:last]` and `rest =
   data[last + 1:]`: the read lands in fresh memory and the block is copied out of it into more
   fresh memory, which for a 4 MiB read costs more (page faults) than the read itself. Here the
   block is the bytes object the read went into, cut to its length in place (`cut_to`), and only
   `rest`, one line at most, is copied. The caller asks for n = its read size - len(partial), so
   that every full read is a bytes object of one size. The GIL is let go during the read; a read interrupted by
   a signal runs Python's signal handlers and is retried, as FileIO.read does.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Cut the new bytes object *buf (not shared yet, no hash) to its first `size` bytes. Most of it
   kept (a full read cut at its last newline): only its length changes and the memory stays as it
   is, one line too big, so that it goes back to malloc as the size every full read asks for and is
   reused by the next (realloc would free the line's worth at its end, which small objects then
   take: at 300 MB of console log the heap kept 60 MB more, in holes a little too small for a
   read). Little of it kept (a short read, as when following a live log): realloc'd to its size. */
static int
cut_to(PyObject **buf, Py_ssize_t size)
{
    if (size == PyBytes_GET_SIZE(*buf)) { /* nothing to cut (and b"" is shared: never written) */
        return 0;
    }
    if (size >= PyBytes_GET_SIZE(*buf) / 2) {
        Py_SET_SIZE(*buf, size);
        PyBytes_AS_STRING(*buf)[size] = '\0';
        return 0;
    }
    return _PyBytes_Resize(buf, size);
}

static PyObject *
read_lines(PyObject *module, PyObject *args)
{
    int fd;
    Py_buffer partial;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "iy*n", &fd, &partial, &n)) {
        return NULL;
    }
    Py_ssize_t held = partial.len;
    if (n < 0 || n > PY_SSIZE_T_MAX - held) {
        PyBuffer_Release(&partial);
        PyErr_SetString(PyExc_ValueError, "read size out of range");
        return NULL;
    }
    PyObject *buf = PyBytes_FromStringAndSize(NULL, held + n);
    if (buf == NULL) {
        PyBuffer_Release(&partial);
        return NULL;
    }
    char *p = PyBytes_AS_STRING(buf);
    memcpy(p, partial.buf, (size_t)held);
    PyBuffer_Release(&partial);

    Py_ssize_t got;
    int err;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        got = read(fd, p + held, (size_t)n);
        err = errno;
        Py_END_ALLOW_THREADS
        if (got >= 0) {
            break;
        }
        if (err != EINTR) {
            Py_DECREF(buf);
            errno = err;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (PyErr_CheckSignals() < 0) {
            Py_DECREF(buf);
            return NULL;
        }
    }

    const char *nl = p + held + got; /* the last newline of the read (memrchr is GNU only) */
    while (nl > p + held && nl[-1] != '\n') {
        nl--;
    }
    if (nl == p + held) { /* no complete line: all of it is the torn line */
        if (cut_to(&buf, held + got) < 0) {
            return NULL;
        }
        return Py_BuildValue("(nON)", got, Py_None, buf);
    }
    nl--;
    Py_ssize_t cut = nl - p; /* the last newline */
    PyObject *rest = PyBytes_FromStringAndSize(nl + 1, held + got - cut - 1);
    if (rest == NULL) {
        Py_DECREF(buf);
        return NULL;
    }
    if (cut_to(&buf, cut) < 0) {
        Py_DECREF(rest);
        return NULL;
    }
    return Py_BuildValue("(nNN)", got, buf, rest);
}

static PyMethodDef methods[] = {
    {"read_lines", read_lines, METH_VARARGS,
     "read_lines(fd, partial, n) -> (nread, block or None, rest): one read of up to n bytes after "
     "the held partial line; block = partial + the read up to its last newline, rest = the "
     "bytes after it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_readblock", "The tailer's read of complete lines without a copy.", -1, methods,
};

PyMODINIT_FUNC
PyInit__readblock(void)
{
    return PyModule_Create(&module);
}
