/* detr_watch._jsonrows: read many log.txt lines of one known layout into rows of floats.
 *
 * A DETR log.txt line is `json.dumps(dict)`: the same keys in the same order on every line of a
 * run, only the numbers change. The caller (detr_watch/formats/detr_json.py) builds the line's
 * text around its numbers once, as `pieces` (piece, number, piece, number, ..., piece), and asks
 * `rows` for the numbers of the lines that are exactly that text with a JSON number in each slot.
 * It stops at the first line that is anything else: that line, and any number this reader does
 * not convert exactly (below), go through the ordinary JSON path.
 *
 * Numbers: the JSON grammar (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) and Python's bare
 * NaN, Infinity, -Infinity. A number is converted only when the result is certainly the correctly
 * rounded double (what float() and orjson give):
 *   - up to 19 significant digits m and a decimal exponent e with |e| <= 22 and m < 2^53: one
 *     exact operation on doubles (Clinger's fast path);
 *   - otherwise, where long double has 64 or more bits of precision and |e| <= 27 (10^27 is then
 *     exact): one operation in long double, rounded to double, unless the long double result lies
 *     exactly halfway between two doubles (the only case where rounding twice can differ from
 *     rounding once), or the result is not a normal finite double.
 * Anything else (more digits, a larger exponent, a tie) makes the line fall back.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define LD_MAX_EXP 27
static long double LD_POW10[LD_MAX_EXP + 1];
static int long_double_ok = 0; /* set at import: long double really has >= 64 bits of precision */

#define MAX_DIGITS 19 /* 10^19 - 1 < 2^64 */
#define TWO_53 9007199254740992ULL

/* Whether the long double r (rounded to d) lies exactly halfway between d and a neighbour. */
static inline int
is_tie(long double r, double d)
{
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
    /* x87 extended: a 64-bit significand (its first 8 bytes); a normal double keeps its top 53
     * bits, so r is a tie exactly when the 11 bits below are 10000000000. */
    (void)d;
    uint64_t bits;
    memcpy(&bits, &r, sizeof bits);
    return (bits & 0x7FF) == 0x400;
#else
    long double below = ((long double)d + (long double)nextafter(d, 0.0)) / 2;
    long double above = ((long double)d + (long double)nextafter(d, HUGE_VAL)) / 2;
    return r == below || r == above;
#endif
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EIGHT_AT_ONCE 1
/* Eight digits at once (as in simdjson and fast_float): whether the 8 bytes at p are digits. */
static inline int
eight_digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
           0x3333333333333333ULL;
}

/* Their value, the first byte the most significant digit. */
static inline uint64_t
eight_value(uint64_t v)
{
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8);
    v = ((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL +
         ((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL) >>
        32;
    return v;
}
#else
#define EIGHT_AT_ONCE 0
#endif

/* The digits at p (none of them a leading zero) appended to *m; 0 past MAX_DIGITS of them in all. */
static inline int
read_digits(const char **pp, const char *end, uint64_t *m, int *nsig)
{
    const char *p = *pp;
#if EIGHT_AT_ONCE
    while (end - p >= 8 && *nsig + 8 <= MAX_DIGITS) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!eight_digits(v))
            break;
        *m = *m * 100000000ULL + eight_value(v);
        *nsig += 8;
        p += 8;
    }
#endif
    while (p < end && *p >= '0' && *p <= '9') {
        if (*nsig == MAX_DIGITS)
            return 0;
        *m = *m * 10 + (uint64_t)(*p - '0');
        (*nsig)++;
        p++;
    }
    *pp = p;
    return 1;
}

/* The number at [*pp, end) into *out; advances *pp past it. 0 when it is not a JSON number (or NaN,
 * Infinity, -Infinity) or cannot be converted exactly here. */
static int
read_number(const char **pp, const char *end, double *out)
{
    const char *p = *pp;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (end - p >= 8 && memcmp(p, "Infinity", 8) == 0) {
        *out = neg ? -HUGE_VAL : HUGE_VAL;
        *pp = p + 8;
        return 1;
    }
    if (!neg && end - p >= 3 && memcmp(p, "NaN", 3) == 0) {
        *out = Py_NAN;
        *pp = p + 3;
        return 1;
    }
    uint64_t m = 0;
    int nsig = 0;
    long e10 = 0;
    int integer = 1;
    if (p >= end)
        return 0;
    if (*p == '0') {
        p++;
    }
    else if (*p >= '1' && *p <= '9') {
        if (!read_digits(&p, end, &m, &nsig))
            return 0;
    }
    else {
        return 0;
    }
    if (p < end && *p == '.') {
        integer = 0;
        p++;
        const char *first = p;
        if (m == 0)
            while (p < end && *p == '0')
                p++; /* leading zeros: no significant digit */
        if (!read_digits(&p, end, &m, &nsig))
            return 0;
        if (p == first)
            return 0; /* a point needs a digit after it */
        e10 -= (long)(p - first);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= end || *p < '0' || *p > '9')
            return 0;
        long x = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (x >= 100000)
                return 0; /* far beyond any double (leading zeros cannot bring it back here) */
            x = x * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -x : x;
    }
    *pp = p;
    if (m == 0) {
        /* JSON's -0 is the integer 0 (Python reads it as int 0, so 0.0); -0.0 is the float -0.0 */
        *out = (neg && !integer) ? -0.0 : 0.0;
        return 1;
    }
    double d;
    if (m <= TWO_53 && e10 >= -22 && e10 <= 22) {
        d = (double)m;
        d = e10 < 0 ? d / POW10[-e10] : d * POW10[e10];
    }
    else if (long_double_ok && e10 >= -LD_MAX_EXP && e10 <= LD_MAX_EXP) {
        long double r = (long double)m;
        r = e10 < 0 ? r / LD_POW10[-e10] : r * LD_POW10[e10];
        d = (double)r;
        if (!isfinite(d) || d < DBL_MIN)
            return 0;
        if (is_tie(r, d))
            return 0; /* a tie after the first rounding: leave it to float() */
    }
    else {
        return 0;
    }
    *out = neg ? -d : d;
    return 1;
}

/* Whether `line` is pieces[0] number pieces[1] ... number pieces[n]; its numbers into row. */
static int
read_line(const char *p, Py_ssize_t len, const char **piece, const Py_ssize_t *plen, Py_ssize_t slots,
          double *row)
{
    const char *end = p + len;
    for (Py_ssize_t i = 0;; i++) {
        Py_ssize_t n = plen[i];
        if (end - p < n || memcmp(p, piece[i], (size_t)n) != 0)
            return 0;
        p += n;
        if (i == slots)
            return p == end;
        if (!read_number(&p, end, &row[i]))
            return 0;
    }
}

/* Whether one of these numbers of the row is -1 (a COCO statistic with no objects of its size). */
static inline int
has_minus_one(const double *row, const Py_ssize_t *at, Py_ssize_t n)
{
    for (Py_ssize_t k = 0; k < n; k++)
        if (row[at[k]] == -1.0)
            return 1;
    return 0;
}

PyDoc_STRVAR(rows_doc,
             "rows(source, start, pieces, out, stop=None, minus_one=()) -> (count, next)\n\n"
             "Read lines into the rows of `out` (a writable buffer of C doubles, len(pieces) - 1 a\n"
             "row) while each line is exactly pieces[0], a number, pieces[1], ..., a number,\n"
             "pieces[-1]. `source` is a list of lines (bytes), read from index `start`, or one bytes\n"
             "text of lines separated by newlines (the last one without), read from byte `start`.\n"
             "Stops at the first line that is not, at the end of the source, before a line that\n"
             "starts at or after `stop` (an index or a byte), before a line whose numbers at the\n"
             "places `minus_one` holds include a -1, or when `out` is full.\n"
             "Returns how many lines it read and where the next line starts (its index, or its byte:\n"
             "len(source) + 1 once the text's last line is read).");

/* The pieces as pointers and lengths; 0 with an exception set when they are not bytes. */
static int
get_pieces(PyObject *pieces, const char **piece, Py_ssize_t *plen)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pieces); i++) {
        PyObject *item = PyTuple_GET_ITEM(pieces, i);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "pieces: a tuple of bytes");
            return 0;
        }
        piece[i] = PyBytes_AS_STRING(item);
        plen[i] = PyBytes_GET_SIZE(item);
    }
    return 1;
}

static PyObject *
rows(PyObject *self, PyObject *args)
{
    PyObject *source, *pieces, *outobj, *minus = NULL;
    Py_ssize_t start, stop = PY_SSIZE_T_MAX;
    if (!PyArg_ParseTuple(args, "OnO!O|nO!", &source, &start, &PyTuple_Type, &pieces, &outobj, &stop,
                          &PyTuple_Type, &minus))
        return NULL;
    Py_ssize_t npieces = PyTuple_GET_SIZE(pieces);
    if (npieces < 2) {
        PyErr_SetString(PyExc_ValueError, "pieces: at least two (one number)");
        return NULL;
    }
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "start: not negative");
        return NULL;
    }
    Py_ssize_t slots = npieces - 1;
    int text = PyBytes_Check(source);
    PyObject *seq = source;
    if (text)
        Py_INCREF(seq);
    else
        seq = PySequence_Fast(source, "source: bytes or a list of bytes");
    if (seq == NULL)
        return NULL;
    Py_buffer out;
    if (PyObject_GetBuffer(outobj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    const char **piece = NULL;
    Py_ssize_t *plen = NULL, *minus_at = NULL, nminus = 0;
    Py_ssize_t done = 0, next = start;
    if (out.itemsize != (Py_ssize_t)sizeof(double) || out.format == NULL || strcmp(out.format, "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "out: a buffer of C doubles");
        goto finally;
    }
    piece = PyMem_Malloc((size_t)npieces * sizeof(char *));
    plen = PyMem_Malloc((size_t)npieces * sizeof(Py_ssize_t));
    if (piece == NULL || plen == NULL) {
        PyErr_NoMemory();
        goto finally;
    }
    if (!get_pieces(pieces, piece, plen))
        goto finally;
    nminus = minus ? PyTuple_GET_SIZE(minus) : 0;
    if (nminus) {
        minus_at = PyMem_Malloc((size_t)nminus * sizeof(Py_ssize_t));
        if (minus_at == NULL) {
            PyErr_NoMemory();
            goto finally;
        }
        for (Py_ssize_t k = 0; k < nminus; k++) {
            Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(minus, k));
            if (at == -1 && PyErr_Occurred())
                goto finally;
            if (at < 0 || at >= slots) {
                PyErr_SetString(PyExc_ValueError, "minus_one: numbers' places, 0 to len(pieces) - 2");
                goto finally;
            }
            minus_at[k] = at;
        }
    }
    Py_ssize_t capacity = out.len / (slots * (Py_ssize_t)sizeof(double));
    double *row = (double *)out.buf;
    if (text) {
        /* Each line ends at its newline or at the end of the text, and both are followed by a
         * byte that is no digit (the newline, or the NUL every bytes object ends with). */
        const char *base = PyBytes_AS_STRING(seq);
        Py_ssize_t size = PyBytes_GET_SIZE(seq);
        if (stop > size)
            stop = size + 1;
        /* Only the text (immutable, held by the caller) and `out` are touched: other threads may
         * run meanwhile, e.g. one reading another part of the same text. */
        Py_BEGIN_ALLOW_THREADS
        while (next < stop && done < capacity) {
            const char *line = base + next;
            const char *nl = memchr(line, '\n', (size_t)(size - next));
            Py_ssize_t len = nl ? nl - line : size - next;
            if (!read_line(line, len, piece, plen, slots, row) || has_minus_one(row, minus_at, nminus))
                break;
            next += len + 1;
            row += slots;
            done++;
        }
        Py_END_ALLOW_THREADS
    }
    else {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        PyObject **items = PySequence_Fast_ITEMS(seq);
        if (stop < n)
            n = stop;
        while (next < n && done < capacity) {
            PyObject *line = items[next];
            if (!PyBytes_Check(line) ||
                !read_line(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line), piece, plen, slots, row) ||
                has_minus_one(row, minus_at, nminus))
                break;
            next++;
            row += slots;
            done++;
        }
    }
finally:
    PyMem_Free(piece);
    PyMem_Free(plen);
    PyMem_Free(minus_at);
    PyBuffer_Release(&out);
    Py_DECREF(seq);
    if (PyErr_Occurred())
        return NULL;
    return Py_BuildValue("nn", done, next);
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS, rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "detr_watch._jsonrows",
    "Many log.txt lines of one layout read into rows of floats (see detr_json.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__jsonrows(void)
{
    long double p = 1.0L;
    for (int i = 0; i <= LD_MAX_EXP; i++) {
        LD_POW10[i] = p;
        p *= 10.0L;
    }
    /* 10^27 needs 64 bits; the x87 unit can also be set to round to 53 bits: look, not assume. */
    volatile long double one = 1.0L, tiny = 1.0L / 18446744073709551616.0L; /* 2^-64 */
    volatile long double sum = one + 2.0L * tiny;                            /* 1 + 2^-63 */
    long_double_ok = LDBL_MANT_DIG >= 64 && sum != one;
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    if (PyModule_AddIntConstant(mod, "EXTENDED", long_double_ok) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
