namespace Wand.Stacks;

/// <summary>
/// Where CPython 3.9-3.12 keep what <c>wand stacks</c> reads: they have no <c>_Py_DebugOffsets</c>
/// table, so the offsets are data, one table per minor version (x86-64, GIL build, release ABI). Keys
/// use the 3.13+ table's names where the field means the same, plus the few older ones. Each value is
/// <c>offsetof</c>/<c>sizeof</c> computed by a C compiler from the header named beside it, as shipped
/// in Debian's libpython3.9-dev 3.9.2-1 (bullseye) and libpython3.11-dev 3.11.2-6+deb12u9 (bookworm),
/// and checked against the running interpreters of those releases (StacksTests). CPython keeps these
/// structs unchanged within a minor version (only appended private fields after what is read here).
/// 3.10 and 3.12: no Debian suite serves them (bullseye has 3.9, bookworm 3.11, trixie and sid 3.13+;
/// bookworm-backports and experimental neither), so their offsets are <c>offset_of!</c>/<c>size_of</c>
/// computed by rustc over py-spy's bindgen translation of CPython's own headers at the v3.10.0 and
/// v3.12.0 tags (github.com/benfred/py-spy, src/python_bindings/v3_10_0.rs and v3_12_0.rs), the
/// header and field named beside each. The same computation over py-spy's v3_9_5.rs and v3_11_0.rs
/// gives every value of the 3.9 and 3.11 tables below, which real interpreters confirm; 3.10 and 3.12
/// themselves are UNVERIFIED against a running interpreter (unit tests read memory images laid out
/// with these offsets).
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

    /// <summary>What 3.12 changed in the objects the locals summaries read.</summary>
    private static readonly KeyValuePair<string, ulong>[] Objects312 =
    [
        new("long_object.lv_tag", 16),              // Include/cpython/longintrepr.h, _PyLongValue.lv_tag (replaces ob_size)
        new("unicode_object.asciiobject_size", 40), // sizeof(PyASCIIObject): wstr is gone (PEP 623)
        new("unicode_object.compactunicodeobject_size", 56), // sizeof(PyCompactUnicodeObject): utf8_length, utf8
    ];

    public static IReadOnlyDictionary<(int, int), IReadOnlyDictionary<string, ulong>> Tables { get; } =
        new Dictionary<(int, int), IReadOnlyDictionary<string, ulong>>
        {
            [(3, 9)] = Python39(),
            [(3, 10)] = Python310(),
            [(3, 11)] = Python311(),
            [(3, 12)] = Python312(),
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

    /// <summary>v3.10.0's headers, unverified against a running 3.10 (see the class summary).</summary>
    private static Dictionary<string, ulong> Python310() => WithObjects(new()
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
        ["thread_state.size"] = 280,                // sizeof(PyThreadState)
        ["thread_state.next"] = 8,                  // next
        ["thread_state.interp"] = 16,               // interp
        ["thread_state.current_frame"] = 24,        // frame (PyFrameObject *)
        ["thread_state.thread_id"] = 176,           // thread_id (pthread_self(); no native_thread_id before 3.11)
        // Include/cpython/frameobject.h, struct _frame
        ["frame_object.size"] = 360,                // sizeof(PyFrameObject), f_localsplus[1] included
        ["frame_object.f_back"] = 24,               // f_back
        ["frame_object.f_code"] = 32,               // f_code
        ["frame_object.f_lasti"] = 96,              // f_lasti (int, in code units since 3.10: PyFrame_GetLineNumber uses f_lasti*2)
        ["frame_object.f_localsplus"] = 352,        // f_localsplus: locals, then cells, then free variables
        // Include/cpython/code.h, struct PyCodeObject
        ["code_object.size"] = 176,                 // sizeof(PyCodeObject)
        ["code_object.nlocals"] = 28,               // co_nlocals (int)
        ["code_object.firstlineno"] = 40,           // co_firstlineno (int)
        ["code_object.varnames"] = 72,              // co_varnames
        ["code_object.freevars"] = 80,              // co_freevars
        ["code_object.cellvars"] = 88,              // co_cellvars
        ["code_object.filename"] = 104,             // co_filename
        ["code_object.name"] = 112,                 // co_name (no co_qualname before 3.11)
        ["code_object.linetable"] = 120,            // co_linetable (PEP 626 pairs; co_lnotab is computed from it)
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

    /// <summary>v3.12.0's headers, unverified against a running 3.12 (see the class summary).</summary>
    private static Dictionary<string, ulong> Python312() => WithObjects(new()
    {
        // Include/internal/pycore_runtime.h, _PyRuntimeState
        ["runtime_state.interpreters_head"] = 40,   // interpreters.head
        // Include/internal/pycore_interp.h, struct _is; the GIL is per interpreter from 3.12
        ["interpreter_state.next"] = 0,             // next
        ["interpreter_state.threads_head"] = 72,    // threads.head
        ["interpreter_state.id"] = 8,               // id
        ["interpreter_state.ceval_gil"] = 384,      // ceval.gil (Include/internal/pycore_ceval_state.h, _ceval_state.gil: the GIL it uses)
        ["interpreter_state.gil_runtime_state"] = 1040,        // _gil (its own struct _gil_runtime_state)
        ["interpreter_state.gil_runtime_state_locked"] = 1056, // _gil.locked (Include/internal/pycore_gil.h)
        ["interpreter_state.gil_runtime_state_holder"] = 1048, // _gil.last_holder
        // Include/cpython/pystate.h, struct _ts and _PyCFrame
        ["thread_state.size"] = 288,                // sizeof(PyThreadState)
        ["thread_state.next"] = 8,                  // next
        ["thread_state.interp"] = 16,               // interp
        ["thread_state.cframe"] = 56,               // cframe (_PyCFrame *)
        ["cframe.current_frame"] = 0,               // _PyCFrame.current_frame (use_tracing is gone in 3.12)
        ["thread_state.thread_id"] = 136,           // thread_id
        ["thread_state.native_thread_id"] = 144,    // native_thread_id (gettid())
        // Include/internal/pycore_frame.h, struct _PyInterpreterFrame
        ["interpreter_frame.size"] = 80,            // sizeof(_PyInterpreterFrame)
        ["interpreter_frame.executable"] = 0,       // f_code
        ["interpreter_frame.previous"] = 8,         // previous
        ["interpreter_frame.instr_ptr"] = 56,       // prev_instr
        ["interpreter_frame.owner"] = 70,           // owner (char; FRAME_OWNED_BY_CSTACK is 3, as the reader expects)
        ["interpreter_frame.localsplus"] = 72,      // localsplus
        // Include/cpython/code.h, struct PyCodeObject (_PyCode_DEF)
        ["code_object.size"] = 200,                 // sizeof(PyCodeObject), co_code_adaptive[1] included
        ["code_object.firstlineno"] = 68,           // co_firstlineno (int)
        ["code_object.localsplusnames"] = 96,       // co_localsplusnames
        ["code_object.localspluskinds"] = 104,      // co_localspluskinds
        ["code_object.filename"] = 112,             // co_filename
        ["code_object.name"] = 120,                 // co_name
        ["code_object.qualname"] = 128,             // co_qualname
        ["code_object.linetable"] = 136,            // co_linetable (the location table, as in 3.11)
        ["code_object.co_code_adaptive"] = 192,     // co_code_adaptive
    }, Objects312);

    /// <summary>
    /// Object layouts the locals summaries read: the same in 3.9-3.11 (offsetof in each header set),
    /// with <paramref name="changed"/> over them (3.12).
    /// </summary>
    private static Dictionary<string, ulong> WithObjects(Dictionary<string, ulong> table, KeyValuePair<string, ulong>[]? changed = null)
    {
        foreach (var (key, value) in Objects) table.Add(key, value);
        foreach (var (key, value) in changed ?? []) table[key] = value;
        return table;
    }
}
