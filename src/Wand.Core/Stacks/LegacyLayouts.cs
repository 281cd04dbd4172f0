namespace Wand.Stacks;

/// <summary>
/// Where CPython 3.9-3.12 keep what <c>wand stacks</c> reads: they have no <c>_Py_DebugOffsets</c>
/// table, so the offsets are data, one table per minor version (x86-64, GIL build, release ABI). Keys
/// use the 3.13+ table's names where the field means the same, plus the few older ones. Each value is
/// <c>offsetof</c>/<c>sizeof</c> computed by a C compiler from the header named beside it, as shipped
/// in Debian's libpython3.9-dev 3.9.2-1 (bullseye) and libpython3.11-dev 3.11.2-6+deb12u9 (bookworm),
/// and checked against the running interpreters of those releases (StacksTests). CPython keeps these
/// structs unchanged within a minor version (only appended private fields after what is read here).
/// 3.10 and 3.12 have no layout yet: no Debian release to check one against.
/// </summary>
public static class LegacyLayouts
{
    /// <summary>
    /// glibc's struct pthread keeps the kernel TID at offset 720 on x86-64 (nptl/descr.h, field tid;
    /// the same in bullseye's 2.31 and bookworm's 2.36: measured in both, pthread_self() + 720 holds
    /// gettid()). 3.9 and 3.10 know a thread only by pthread_self() (PyThreadState.thread_id).
    /// </summary>
    public const ulong GlibcPthreadTid = 720;

    // Declared before Tables: static fields initialise in text order.
    private static readonly KeyValuePair<string, ulong>[] Objects =
    [
        new("pyobject.ob_type", 8),                 // Include/object.h, PyObject.ob_type
        new("type_object.tp_name", 24),             // Include/cpython/object.h, PyTypeObject.tp_name
        new("type_object.tp_flags", 168),           // PyTypeObject.tp_flags
        new("tuple_object.ob_size", 16),            // Include/cpython/tupleobject.h, ob_base.ob_size
        new("tuple_object.ob_item", 24),            // ob_item
        new("list_object.ob_size", 16),             // Include/cpython/listobject.h, ob_base.ob_size
        new("float_object.ob_fval", 16),            // Include/floatobject.h, ob_fval
        new("long_object.ob_size", 16),             // Include/longintrepr.h, ob_base.ob_size (signed digit count)
        new("long_object.ob_digit", 24),            // ob_digit
        new("bytes_object.ob_size", 16),            // Include/cpython/bytesobject.h, ob_base.ob_size
        new("bytes_object.ob_sval", 32),            // ob_sval
        new("unicode_object.length", 16),           // Include/cpython/unicodeobject.h, PyASCIIObject.length
        new("unicode_object.state", 32),            // PyASCIIObject.state
        new("unicode_object.asciiobject_size", 48), // sizeof(PyASCIIObject)
        new("unicode_object.compactunicodeobject_size", 72), // sizeof(PyCompactUnicodeObject)
        new("set_object.used", 24),                 // Include/setobject.h, PySetObject.used
    ];

    public static IReadOnlyDictionary<(int, int), IReadOnlyDictionary<string, ulong>> Tables { get; } =
        new Dictionary<(int, int), IReadOnlyDictionary<string, ulong>>
        {
            [(3, 9)] = Python39(),
            [(3, 11)] = Python311(),
        };

    private static Dictionary<string, ulong> Python39() => WithObjects(new()
    {
        // Include/internal/pycore_runtime.h, _PyRuntimeState
        ["runtime_state.interpreters_head"] = 32,   // interpreters.head
        ["runtime_state.gil"] = 352,                // ceval.gil (struct _gil_runtime_state; one GIL per process)
        // Include/internal/pycore_gil.h, struct _gil_runtime_state
        ["gil.last_holder"] = 8,                    // last_holder
        ["gil.locked"] = 16,                        // locked
        // Include/internal/pycore_interp.h, struct _is
        ["interpreter_state.next"] = 0,             // next
        ["interpreter_state.threads_head"] = 8,     // tstate_head
        ["interpreter_state.id"] = 24,              // id
        // Include/cpython/pystate.h, struct _ts
        ["thread_state.size"] = 264,                // sizeof(PyThreadState)
        ["thread_state.next"] = 8,                  // next
        ["thread_state.interp"] = 16,               // interp
        ["thread_state.current_frame"] = 24,        // frame (PyFrameObject *)
        ["thread_state.thread_id"] = 176,           // thread_id (pthread_self())
        // Include/cpython/frameobject.h, struct _frame
        ["frame_object.size"] = 368,                // sizeof(PyFrameObject), f_localsplus[1] included
        ["frame_object.f_back"] = 24,               // f_back
        ["frame_object.f_code"] = 32,               // f_code
        ["frame_object.f_lasti"] = 104,             // f_lasti (int, byte offset of the last instruction started)
        ["frame_object.f_localsplus"] = 360,        // f_localsplus: locals, then cells, then free variables
        // Include/cpython/code.h, struct PyCodeObject
        ["code_object.size"] = 176,                 // sizeof(PyCodeObject)
        ["code_object.nlocals"] = 28,               // co_nlocals (int)
        ["code_object.firstlineno"] = 40,           // co_firstlineno (int)
        ["code_object.varnames"] = 72,              // co_varnames
        ["code_object.freevars"] = 80,              // co_freevars
        ["code_object.cellvars"] = 88,              // co_cellvars
        ["code_object.filename"] = 104,             // co_filename
        ["code_object.name"] = 112,                 // co_name (no co_qualname before 3.11)
        ["code_object.linetable"] = 120,            // co_lnotab
    });

    private static Dictionary<string, ulong> Python311() => WithObjects(new()
    {
        // Include/internal/pycore_runtime.h, _PyRuntimeState
        ["runtime_state.interpreters_head"] = 40,   // interpreters.head
        ["runtime_state.gil"] = 360,                // ceval.gil (struct _gil_runtime_state; one GIL per process)
        // Include/internal/pycore_gil.h, struct _gil_runtime_state
        ["gil.last_holder"] = 8,                    // last_holder
        ["gil.locked"] = 16,                        // locked
        // Include/internal/pycore_interp.h, struct _is
        ["interpreter_state.next"] = 0,             // next
        ["interpreter_state.threads_head"] = 16,    // threads.head
        ["interpreter_state.id"] = 48,              // id
        // Include/cpython/pystate.h, struct _ts and _PyCFrame
        ["thread_state.size"] = 360,                // sizeof(PyThreadState)
        ["thread_state.next"] = 8,                  // next
        ["thread_state.interp"] = 16,               // interp
        ["thread_state.cframe"] = 56,               // cframe (_PyCFrame *)
        ["cframe.current_frame"] = 8,               // _PyCFrame.current_frame (_PyInterpreterFrame *)
        ["thread_state.thread_id"] = 152,           // thread_id
        ["thread_state.native_thread_id"] = 160,    // native_thread_id (gettid())
        // Include/internal/pycore_frame.h, struct _PyInterpreterFrame
        ["interpreter_frame.size"] = 80,            // sizeof(_PyInterpreterFrame)
        ["interpreter_frame.executable"] = 32,      // f_code
        ["interpreter_frame.previous"] = 48,        // previous
        ["interpreter_frame.instr_ptr"] = 56,       // prev_instr
        ["interpreter_frame.owner"] = 69,           // owner (char)
        ["interpreter_frame.localsplus"] = 72,      // localsplus
        // Include/cpython/code.h, struct PyCodeObject
        ["code_object.size"] = 192,                 // sizeof(PyCodeObject), co_code_adaptive[1] included
        ["code_object.firstlineno"] = 72,           // co_firstlineno (int)
        ["code_object.localsplusnames"] = 96,       // co_localsplusnames
        ["code_object.localspluskinds"] = 104,      // co_localspluskinds
        ["code_object.filename"] = 112,             // co_filename
        ["code_object.name"] = 120,                 // co_name
        ["code_object.qualname"] = 128,             // co_qualname
        ["code_object.linetable"] = 136,            // co_linetable (the location table of 3.11+)
        ["code_object.co_code_adaptive"] = 184,     // co_code_adaptive
    });

    /// <summary>Object layouts the locals summaries read: the same in 3.9 and 3.11 (offsetof in both header sets).</summary>
    private static Dictionary<string, ulong> WithObjects(Dictionary<string, ulong> table)
    {
        foreach (var (key, value) in Objects) table.Add(key, value);
        return table;
    }
}
