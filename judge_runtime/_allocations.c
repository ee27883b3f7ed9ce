/* How many Python objects a piece of code allocates, C code's allocations included.
 *
 * The object allocator (PYMEM_DOMAIN_OBJ: every Python object, every numpy array object, a
 * row of an array iterated in C included) is wrapped once, at import, by one that counts the
 * allocations of one thread while counting is on and passes every call through.
 * judge_runtime.tracing turns the count on around one call of a function (and guards these
 * switches while it counts): a loop over the rows of an array, even one run in C (sum, map,
 * functools.reduce, list, tolist), allocates an object or more per row, while vectorized
 * numpy allocates the same few objects for any size. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyMemAllocatorEx wrapped;
static unsigned long long allocations = 0;
static int counting = 0;
/* Only the thread that started the count is counted: a kernel's own threads (ipykernel's
 * I/O, heartbeat and history threads) allocate while the counted call runs, the more the
 * longer it runs, which would make a larger batch look like a loop. */
static unsigned long counted_thread = 0;

static void count(void) {
    if (counting && PyThread_get_thread_ident() == counted_thread) {
        allocations++;
    }
}

static void *counted_malloc(void *ctx, size_t size) {
    count();
    return wrapped.malloc(wrapped.ctx, size);
}

static void *counted_calloc(void *ctx, size_t n, size_t size) {
    count();
    return wrapped.calloc(wrapped.ctx, n, size);
}

static void *counted_realloc(void *ctx, void *pointer, size_t size) {
    return wrapped.realloc(wrapped.ctx, pointer, size);
}

static void counted_free(void *ctx, void *pointer) {
    wrapped.free(wrapped.ctx, pointer);
}

static PyObject *start(PyObject *module, PyObject *unused) {
    allocations = 0;
    counted_thread = PyThread_get_thread_ident();
    counting = 1;
    Py_RETURN_NONE;
}

static PyObject *pause_counting(PyObject *module, PyObject *unused) {
    counting = 0;
    Py_RETURN_NONE;
}

static PyObject *resume_counting(PyObject *module, PyObject *unused) {
    counting = 1;
    Py_RETURN_NONE;
}

static PyObject *stop(PyObject *module, PyObject *unused) {
    counting = 0;
    return PyLong_FromUnsignedLongLong(allocations);
}

static PyMethodDef methods[] = {
    {"start", start, METH_NOARGS, "Count object allocations from zero."},
    {"pause", pause_counting, METH_NOARGS, "Stop counting for a while (the count is kept)."},
    {"resume", resume_counting, METH_NOARGS, "Count again after pause()."},
    {"stop", stop, METH_NOARGS, "Stop counting; the number of allocations counted."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_allocations",
    "Counts of Python object allocations (see judge_runtime/_allocations.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__allocations(void) {
    static int installed = 0;
    if (!installed) {
        PyMemAllocatorEx counter = {NULL, counted_malloc, counted_calloc, counted_realloc,
                                    counted_free};
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &wrapped);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &counter);
        installed = 1;
    }
    return PyModule_Create(&definition);
}
