# agent.py's half for CPython 3.9-3.13 (no sys.remote_exec): inside a container or pod, the target's
# own interpreter queues Py_AddPendingCall(PyRun_SimpleString, page) in the target with ptrace
# through ctypes, the same sequence Injection/Ptrace runs from the host (PtraceSession.cs,
# PendingCallTarget.cs; the facts in PTRACE.md). agent.py runs this text with exec when the request
# carries it and its interpreter has no sys.remote_exec.
#
# Why the interpreter and not a helper streamed in: the exec route runs it already (the image needs
# nothing else), and it is the target's own binary, so the dynamic linker has resolved the two
# exported functions in this very process (ctypes.pythonapi, dlsym: exported symbols only, never a
# guess); their addresses in the target are ours moved to where the target maps the same file
# (device and inode in /proc/PID/maps). No ELF parsing, nothing written to the image.
#
# What the host route guarantees holds here: one request at a time per process (a lock file named
# as TargetLock names it), the interrupted thread put back exactly (registers, orig_rax included, so
# a syscall in progress is restarted; the floating-point and vector registers, which the called C
# function may use while the interrupted code still holds live values there; signals that arrive
# meanwhile are delivered afterwards), the
# page unmapped by the bootstrap once it has run (pending_call.py), and a request withdrawn on
# timeout never runs (the claim by rename, pending_call.py).
import ctypes
import errno
import os
import struct
import time

_PTRACE_POKEUSER, _PTRACE_CONT, _PTRACE_SINGLESTEP, _PTRACE_GETREGS, _PTRACE_SETREGS, _PTRACE_DETACH = 6, 7, 9, 12, 13, 17
_PTRACE_GETSIGINFO, _PTRACE_SETSIGINFO, _PTRACE_SEIZE, _PTRACE_INTERRUPT = 0x4202, 0x4203, 0x4206, 0x4207
_PTRACE_GETFPREGS, _PTRACE_SETFPREGS, _PTRACE_GETREGSET, _PTRACE_SETREGSET = 14, 15, 0x4204, 0x4205
_PTRACE_EVENT_STOP = 128  # status >> 16 of a stop made by PTRACE_INTERRUPT (or a group-stop)
_WALL = 0x40000000
_SIGTRAP, _SIGSEGV = 5, 11
_FAULTS = (4, 5, 7, 11)  # SIGILL, SIGTRAP, SIGBUS, SIGSEGV
_MASK = (1 << 64) - 1

# x86-64 only: slots of struct user_regs_struct (sys/user.h), the System V ABI, `syscall`.
_REGS = 27
_NAMES = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax",
          "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")
_R10, _R9, _R8, _RAX, _RCX, _RDX, _RSI, _RDI, _ORIG_RAX, _RIP, _RSP = 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19
_SYSCALL_ARGS = (_RDI, _RSI, _RDX, _R10, _R8, _R9)
_CALL_ARGS = (_RDI, _RSI, _RDX, _RCX, _R8, _R9)
_SYSCALL = b"\x0f\x05"
_MMAP, _MUNMAP, _TGKILL = 9, 11, 234
# The extended state (x87, mxcsr, xmm, ymm/zmm halves) as PtraceArchitecture.X64 reads it: the XSAVE
# area through PTRACE_GETREGSET(NT_X86_XSTATE), whose size the kernel gives back in the iovec (it
# takes back only that exact size: arch/x86/kernel/fpu/regset.c, xstateregs_set); where XSAVE is
# refused, the 512-byte FXSAVE area through PTRACE_GETFPREGS. The length tells them apart.
_NT_X86_XSTATE, _FXSAVE_SIZE, _XSTATE_ROOM = 0x202, 512, 64 * 1024
_RED_ZONE = 128  # a leaf function may use 128 bytes below rsp without moving it
# Py_AddPendingCall takes a lock the interrupted code may hold; past this the call is abandoned.
_CALL_TIMEOUT = 2.0


class Failure(Exception):
    """An answer for wand: error is agent.py's error name, detail one line."""

    def __init__(self, error, detail):
        Exception.__init__(self, detail)
        self.error = error
        self.detail = detail


def check():
    """Raises Failure when this machine or interpreter cannot do it (before anything is written)."""
    machine = os.uname().machine
    if machine != "x86_64":
        raise Failure("unsupported", "attaching to CPython 3.9-3.13 is not supported yet on %s (only x86-64)" % machine)


def queue(pid, folder, script, template, timeout):
    """Queues the bootstrap (template filled with folder, script, page and its size) in pid's
    pending calls; returns once the thread that was stopped runs on as before."""
    add, run = _functions(pid)
    page_size = os.sysconf("SC_PAGE_SIZE")
    length = len(_bootstrap(template, folder, script, _MASK, _MASK)) + 1
    size = (length + page_size - 1) // page_size * page_size
    libc = _Libc()
    mem = os.open("/proc/%d/mem" % pid, os.O_RDWR)
    try:
        held = _Held(libc, pid, timeout)
        try:
            _queue_held(held, pid, mem, add, run, template, folder, script, size)
        except BaseException as e:
            held.release(e)  # a thread that could not be put back outweighs the failure that got here
            raise
        held.release()
    finally:
        os.close(mem)


def _queue_held(held, pid, mem, add, run, template, folder, script, size):
    """The steps with the thread held: a page, the bootstrap in it, the pending call queued."""
    insn = _syscall_instruction(pid, mem, held.saved)
    # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, fd -1
    page = held.syscall(insn, _MMAP, 0, size, 3, 0x22, _MASK, 0)
    if -4096 < page < 0:
        raise Failure("injection-failed", "mmap of %d bytes in PID %d failed (%s); the process may be out of memory" % (size, pid, os.strerror(-page)))
    os.pwrite(mem, _bootstrap(template, folder, script, page, size) + b"\0", page)
    # Return into the page: it is not executable, so the return faults there, and that
    # SIGSEGV (never delivered) says the call is done.
    result = held.call(mem, add, page, run, page)
    if result is None:
        raise Failure("injection-failed", "Py_AddPendingCall did not return within %d s in PID %d (the interrupted code held its lock?); the thread was restored; retry in a moment"
                      % (_CALL_TIMEOUT, pid))
    if ctypes.c_int(result & 0xFFFFFFFF).value != 0:
        held.syscall(insn, _MUNMAP, page, size)
        raise Failure("injection-failed", "the pending-call queue of PID %d is full; retry once its main thread runs Python code again" % pid)


def withdraw(script):
    """Renames the script away so that the queued bootstrap finds nothing to run; False when the
    bootstrap's own rename (its claim) came first: the script runs."""
    try:
        os.rename(script, script + ".withdrawn")
        return True
    except OSError:
        return False


class lock(object):
    """One request at a time per process, as TargetLock does on the host: an exclusive flock on a file
    named after the PID and its start time (a recycled PID gets another), removed on release."""

    def __init__(self, pid, timeout):
        import fcntl

        start = _read("/proc/%d/stat" % pid).rsplit(")", 1)[1].split()[19]
        path = None
        deadline = time.monotonic() + timeout
        while True:
            for parent in ("/tmp", "/dev/shm", "/var/tmp"):
                path = os.path.join(parent, "wand-lock-%d-%s" % (pid, start))
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
                    break
                except OSError:
                    fd = None
            if fd is None:
                raise Failure("no-workdir", "no writable /tmp, /dev/shm or /var/tmp for the lock")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                try:
                    same = os.fstat(fd).st_ino == os.stat(path).st_ino
                except OSError:
                    same = False
                if same:  # not a file the previous holder removed after we opened it
                    self._fd, self._path = fd, path
                    return
            except OSError:
                pass
            os.close(fd)
            if time.monotonic() > deadline:
                raise Failure("busy", "another wand is running a request in PID %d" % pid)
            time.sleep(0.01)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.unlink(self._path)  # while still holding it: whoever waits opens a new file
        except OSError:
            pass
        os.close(self._fd)


def _bootstrap(template, folder, script, page, size):
    return (template % (folder.encode("utf-8").hex(), script, page, size)).encode("utf-8")


def _read(path):
    with open(path) as f:
        return f.read()


def _maps(pid):
    """(start, end, perms, offset, (dev, inode), path) of each mapping."""
    out = []
    for line in _read("/proc/%s/maps" % pid).splitlines():
        fields = line.split(None, 5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        out.append((start, end, fields[1], int(fields[2], 16), (fields[3], int(fields[4])), fields[5] if len(fields) > 5 else ""))
    return out


def _functions(pid):
    """Py_AddPendingCall and PyRun_SimpleString in pid: where this interpreter's dynamic linker found
    them, moved to where pid maps the same file."""
    own, theirs = _maps("self"), _maps(pid)
    found = []
    for name in ("Py_AddPendingCall", "PyRun_SimpleString"):
        try:
            address = ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value
        except AttributeError:
            raise Failure("unsupported", "the Python of PID %d does not export %s (a build without exported symbols?); use an interpreter built with its C API exported" % (pid, name))
        mine = [m for m in own if m[0] <= address < m[1] and m[4][1] != 0]
        if not mine:
            raise Failure("unsupported", "%s of the agent's interpreter is in no file" % name)
        start, _, _, offset, key, path = mine[0]
        in_file = address - start + offset
        there = [m for m in theirs if m[4] == key and m[3] <= in_file < m[3] + m[1] - m[0]]
        if not there:
            raise Failure("unsupported", "PID %d does not map %s, where its interpreter has %s (is it another Python?)" % (pid, path, name))
        found.append(there[0][0] + in_file - there[0][3])
    return found


def _syscall_instruction(pid, mem, saved):
    """An address holding `syscall`: where the interrupted syscall was entered when there is one,
    else the first found in the C library's code (or any executable mapping)."""
    if _signed(saved[_ORIG_RAX]) >= 0:
        try:
            if os.pread(mem, 2, saved[_RIP] - 2) == _SYSCALL:
                return saved[_RIP] - 2
        except OSError:
            pass
    code = [m for m in _maps(pid) if m[2].startswith("r-x")]
    code.sort(key=lambda m: 0 if os.path.basename(m[5]).startswith("libc") else 1)
    for start, end, _, _, _, _ in code:
        at = start
        while at < end:
            try:
                chunk = os.pread(mem, min(65536, end - at), at)
            except OSError:
                break
            found = chunk.find(_SYSCALL)
            if found >= 0:
                return at + found
            at += max(len(chunk) - 1, 1)
    raise Failure("injection-failed", "no syscall instruction found in the code of PID %d" % pid)


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


class _Libc(object):
    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        # glibc's ptrace is variadic; on x86-64 the fixed arguments travel in the same registers.
        self._ptrace = libc.ptrace
        self._ptrace.restype = ctypes.c_long
        self._ptrace.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long
        self._syscall.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_long)

    def ptrace(self, request, tid, addr=0, data=0):
        if self._ptrace(request, tid, addr, data) < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))

    def tgkill(self, pid, tid, signal):
        self._syscall(_TGKILL, pid, tid, signal)


class _Held(object):
    """The target's main thread held with ptrace (PtraceSession.cs, the same steps): seized and
    interrupted, made to run a syscall or a call, put back as it was by release(). Every ptrace
    request comes from the thread that made this object (the kernel's rule for a tracer)."""

    def __init__(self, libc, pid, timeout):
        self.libc, self.pid = libc, pid
        self.deferred = []  # (signal, siginfo) that arrived while held, delivered on release
        self.in_signal_stop = False
        self.gone = self.released = False
        try:
            libc.ptrace(_PTRACE_SEIZE, pid)
        except OSError as e:
            if e.errno == errno.ESRCH and not os.path.exists("/proc/%d" % pid):
                raise Failure("target-exited", "PID %d exited before wand could stop it" % pid)
            raise Failure("ptrace-refused", _refused(pid, e))
        try:
            libc.ptrace(_PTRACE_INTERRUPT, pid)
            deadline = time.monotonic() + timeout
            while True:
                stop = self._wait(deadline)
                if stop is None:
                    raise Failure("injection-failed", "thread %d of PID %d did not stop within %.1f s of PTRACE_INTERRUPT (frozen? SIGSTOP?)" % (pid, pid, timeout))
                if stop[1] == _PTRACE_EVENT_STOP:
                    break  # the interrupt: the thread is where it was
                # a signal was being delivered first: keep it for later and let the interrupt stop land
                self.deferred.append((stop[0], self._siginfo()))
                self.libc.ptrace(_PTRACE_CONT, pid)
            self.saved = self._regs()
            self.saved_extended = self._extended()
        except BaseException:
            if not self.gone:
                try:
                    self.libc.ptrace(_PTRACE_DETACH, pid)
                except OSError:
                    pass  # still running: the kernel lets go when this agent ends
                for signal, _ in self.deferred:
                    self.libc.tgkill(pid, pid, signal)
            raise

    def syscall(self, insn, number, *args):
        """Runs one syscall with the `syscall` at insn; its result (negative errno on failure)."""
        regs = list(self.saved)
        for slot, value in zip(_SYSCALL_ARGS, args):
            regs[slot] = value & _MASK
        regs[_RAX], regs[_ORIG_RAX], regs[_RIP] = number, _MASK, insn  # orig_rax -1: nothing for the kernel to restart
        self._set(regs)
        done = self._run_until(_PTRACE_SINGLESTEP, _SIGTRAP, insn + len(_SYSCALL), _CALL_TIMEOUT)
        if done is None:
            raise Failure("injection-failed", "the syscall wand made PID %d run did not finish within %d s" % (self.pid, _CALL_TIMEOUT))
        return _signed(done[_RAX])

    def call(self, mem, function, trap, *args):
        """Calls function(*args) on a fresh frame below the red zone, returning to trap (mapped, not
        executable); its result, or None when it did not return in time (the thread is stopped again)."""
        regs = list(self.saved)
        for slot, value in zip(_CALL_ARGS, args):
            regs[slot] = value & _MASK
        # 16-byte aligned, then the return address pushed: at the first instruction rsp + 8 is aligned, as after `call`.
        rsp = ((self.saved[_RSP] - _RED_ZONE - 256) & ~0xF) - 8
        os.pwrite(mem, struct.pack("<Q", trap), rsp)
        regs[_RSP], regs[_RIP], regs[_RAX], regs[_ORIG_RAX] = rsp, function, 0, _MASK  # rax: no vector registers (variadic ABI)
        self._set(regs)
        done = self._run_until(_PTRACE_CONT, _SIGSEGV, trap, _CALL_TIMEOUT)
        return None if done is None else _signed(done[_RAX])

    def release(self, cause=None):
        """Writes the saved registers back, lets the thread go and delivers the signals it was spared.
        Every step is tried whatever became of the ones before (PtraceSession.Release): a thread left
        stopped hangs the process, which is worse than a register that could not be put back. Raises
        Failure("thread-not-restored") after letting go when something could not be restored; cause
        is the failure being handled meanwhile, if any. A thread that is gone has nothing to put back."""
        if self.gone or self.released:
            return
        self.released = True
        missed = []
        try:
            self._set(self.saved)
        except Failure:
            if self.gone:
                return
            # PTRACE_SETREGS stops at the first value the kernel refuses (genregs_set, putreg one by
            # one): put back all that can be, one register at a time.
            missed.extend(self._set_each(self.saved))
            if self.gone:
                return
        try:
            self._set_extended(self.saved_extended)
        except Failure as e:
            if self.gone:
                return
            missed.append("the floating-point and vector registers: %s" % e.detail)
        deferred = self.deferred
        detached = False
        if deferred and self.in_signal_stop:
            # In a signal-delivery-stop the kernel delivers the signal we detach with, with the siginfo we set.
            info = ctypes.create_string_buffer(deferred[0][1], 128)
            try:
                self.libc.ptrace(_PTRACE_SETSIGINFO, self.pid, 0, ctypes.addressof(info))
                self.libc.ptrace(_PTRACE_DETACH, self.pid, 0, deferred[0][0])
                detached, deferred = True, deferred[1:]
            except OSError:
                pass
        if not detached:
            try:
                self.libc.ptrace(_PTRACE_DETACH, self.pid)
            except OSError as e:
                if e.errno == errno.ESRCH and not os.path.exists("/proc/%d/task/%d" % (self.pid, self.pid)):
                    return  # gone
                missed.append("PTRACE_DETACH: %s (it stays stopped until this agent exits)" % e.strerror)
        for signal, _ in deferred:
            self.libc.tgkill(self.pid, self.pid, signal)
        if missed:
            raise Failure("thread-not-restored", "thread %d of PID %d could not be put back exactly as it was (%s); it was released and runs on, but may misbehave%s"
                          % (self.pid, self.pid, "; ".join(missed), "" if cause is None else " (this happened while handling: %s)" % cause))

    def _set_each(self, values):
        """PTRACE_POKEUSER per register (struct user starts with the registers: slot i at offset 8 i);
        the ones refused, as "register NAME: why"."""
        missed = []
        for slot, value in enumerate(values):
            try:
                self.libc.ptrace(_PTRACE_POKEUSER, self.pid, slot * 8, value)
            except OSError as e:
                if e.errno == errno.ESRCH and not os.path.exists("/proc/%d/task/%d" % (self.pid, self.pid)):
                    self.gone = True
                    return []
                missed.append("register %s: %s" % (_NAMES[slot], e.strerror))
        return missed

    def _run_until(self, request, signal, pc, timeout):
        deadline = time.monotonic() + timeout
        self._resume(request)
        self.in_signal_stop = False
        while True:
            stop = self._wait(deadline)
            if stop is None:
                # Too long (a lock the interrupted code holds?): stop it where it is.
                self.libc.ptrace(_PTRACE_INTERRUPT, self.pid)
                while True:
                    s = self._wait(None)
                    if s[1] == _PTRACE_EVENT_STOP:
                        return None
                    self.deferred.append((s[0], self._siginfo()))
                    self._resume(_PTRACE_CONT)
            sig, event = stop
            if event == _PTRACE_EVENT_STOP:
                self._resume(request)  # a late interrupt or group-stop: go on
                continue
            self.in_signal_stop = True
            regs = self._regs()
            if sig == signal and regs[_RIP] == pc:
                return regs
            if sig in _FAULTS:
                raise Failure("injection-failed", "PID %d got signal %d at 0x%x while running wand's call; its registers were restored (a bug in wand: please report it)"
                              % (self.pid, sig, regs[_RIP]))
            self.deferred.append((sig, self._siginfo()))
            self.in_signal_stop = False
            self._resume(request)

    def _wait(self, deadline):
        """The next ptrace-stop as (signal, event), or None at the deadline."""
        spins = 0
        while True:
            try:
                tid, status = os.waitpid(self.pid, os.WNOHANG | _WALL)
            except ChildProcessError:
                tid, status = self.pid, 0
            if tid == self.pid:
                if status & 0xFF == 0x7F:
                    return (status >> 8) & 0xFF, (status >> 16) & 0xFFFF
                self.gone = True
                raise Failure("target-exited", "PID %d exited during the injection" % self.pid)
            if deadline is not None and time.monotonic() > deadline:
                return None
            spins += 1
            time.sleep(0 if spins < 200 else 0.001)  # the stops come within microseconds

    def _resume(self, request):
        try:
            self.libc.ptrace(request, self.pid)
        except OSError as e:
            raise self._failure("resuming the thread", e)

    def _regs(self):
        regs = (ctypes.c_ulonglong * _REGS)()
        try:
            self.libc.ptrace(_PTRACE_GETREGS, self.pid, 0, ctypes.addressof(regs))
        except OSError as e:
            raise self._failure("PTRACE_GETREGS", e)
        return list(regs)

    def _set(self, values):
        regs = (ctypes.c_ulonglong * _REGS)(*values)
        try:
            self.libc.ptrace(_PTRACE_SETREGS, self.pid, 0, ctypes.addressof(regs))
        except OSError as e:
            raise self._failure("PTRACE_SETREGS", e)

    def _extended(self):
        room = ctypes.create_string_buffer(_XSTATE_ROOM)
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(room), _XSTATE_ROOM)  # struct iovec
        try:
            self.libc.ptrace(_PTRACE_GETREGSET, self.pid, _NT_X86_XSTATE, ctypes.addressof(iov))
            return room.raw[:iov[1]]
        except OSError as e:
            if e.errno == errno.ESRCH:
                raise self._failure("PTRACE_GETREGSET", e)
        fx = ctypes.create_string_buffer(_FXSAVE_SIZE)
        try:
            self.libc.ptrace(_PTRACE_GETFPREGS, self.pid, 0, ctypes.addressof(fx))
        except OSError as e:
            raise self._failure("PTRACE_GETFPREGS", e)
        return fx.raw

    def _set_extended(self, state):
        buf = ctypes.create_string_buffer(state, len(state))
        try:
            if len(state) == _FXSAVE_SIZE:
                self.libc.ptrace(_PTRACE_SETFPREGS, self.pid, 0, ctypes.addressof(buf))
            else:
                iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), len(state))
                self.libc.ptrace(_PTRACE_SETREGSET, self.pid, _NT_X86_XSTATE, ctypes.addressof(iov))
        except OSError as e:
            raise self._failure("PTRACE_SETREGSET", e)

    def _siginfo(self):
        info = ctypes.create_string_buffer(128)
        try:
            self.libc.ptrace(_PTRACE_GETSIGINFO, self.pid, 0, ctypes.addressof(info))
        except OSError:
            pass
        return info.raw

    def _failure(self, what, e):
        if e.errno == errno.ESRCH:
            self.gone = True
            return Failure("target-exited", "PID %d exited during the injection" % self.pid)
        return Failure("injection-failed", "%s failed for PID %d: %s" % (what, self.pid, e.strerror))


def _refused(pid, e):
    """Why PTRACE_SEIZE was refused, as far as /proc tells (PtraceRefusedException.Diagnose)."""
    why = e.strerror
    status = dict(line.split(":", 1) for line in _read("/proc/%d/status" % pid).splitlines() if ":" in line)
    tracer = int(status.get("TracerPid", "0").strip() or 0)
    if tracer:
        try:
            comm = _read("/proc/%d/comm" % tracer).strip()
        except OSError:
            comm = "?"
        return "PID %d is already traced by PID %d (%s); a process can have only one tracer" % (pid, tracer, comm)
    caps = dict(line.split(":", 1) for line in _read("/proc/self/status").splitlines() if ":" in line)
    privileged = int(caps.get("CapEff", "0").strip(), 16) & (1 << 19) != 0
    uid = int(status.get("Uid", "0").split()[1])
    if uid != os.geteuid() and not privileged:
        return "ptrace of PID %d refused (%s): it runs as uid %d, wand's agent as uid %d without CAP_SYS_PTRACE" % (pid, why, uid, os.geteuid())
    try:
        yama = _read("/proc/sys/kernel/yama/ptrace_scope").strip()
    except OSError:
        yama = "0"
    if yama in ("1", "2") and not privileged or yama == "3":
        return "ptrace of PID %d refused (%s): kernel.yama.ptrace_scope is %s on the node" % (pid, why, yama)
    # A tracer outside this PID namespace shows as TracerPid 0 here.
    return "ptrace of PID %d refused (%s)%s" % (pid, why, "" if privileged else ": wand's agent lacks CAP_SYS_PTRACE, or a debugger outside traces PID %d" % pid)
