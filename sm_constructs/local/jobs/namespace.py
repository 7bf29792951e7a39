"""``/opt/ml`` for a job's whole process tree: a mount namespace with the job's directory bound there.

In SageMaker's container a job reads and writes ``/opt/ml/...``, and so does everything it starts:
``tarfile``, a C library given a path string, PySpark's JVM, ``tar`` or a shell script. Here each job
process enters its own mount namespace (``unshare(2)`` ``CLONE_NEWNS``, with ``CLONE_NEWUSER`` when
it is not root; unprivileged user namespaces exist since Linux 3.8) in which the job's
``<job dir>/opt/ml`` is bind-mounted at ``/opt/ml``; its children inherit the namespace, the rest of
the machine sees nothing. When the host has no ``/opt/ml`` (the usual case), ``/opt`` is covered in
the namespace by a tmpfs holding bind mounts of every entry of the host's ``/opt`` plus ``ml``, so
``/opt/...`` of the host stays as it is. See mount_namespaces(7), user_namespaces(7).

A job on an image asset (:mod:`.images`) also sees the image's files where its Dockerfile puts them
(``COPY``/``ADD`` destinations, ``WORKDIR``): each file or directory of the image's layout that this
machine lacks is bound at its path, its parent directory covered, like ``/opt``, by a tmpfs with the
host's entries bound back in (nothing of the host is hidden; a top-level directory the machine lacks,
such as ``/app``, is made in a new root: a tmpfs with every entry of ``/`` bound back in, entered with
``chroot``); a file the image replaces is bound over the host's, unless it belongs to the Python or JVM the job runs with.
A path that cannot be provided fails the job before it starts, naming it and why (:func:`_bind_image`).

The forked job of the warm interpreter (:mod:`.zygote`) calls :func:`enter` itself (a forked child
is single-threaded, as ``CLONE_NEWUSER`` requires); any other job command is started through this
file run as a script, which enters the namespace and then becomes the command by ``exec``
(:func:`command`).

Where the platform cannot do this (macOS, kernels or sandboxes that refuse user namespaces),
a job fails before it starts with the reason, unless ``SM_LOCAL_OPT_ML_MAPPING=python-only`` opts
into the Python-only mapping (``_contract/sitecustomize.py``: ``open``, ``os``, ``pathlib``, ``glob``
and ``shutil`` of the job's Python see ``/opt/ml``; native code, the JVM, other programs and modules
holding their own reference to ``open`` do not).

This file imports the standard library only: it also runs as ``python -I -S namespace.py``.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

__all__ = ["MAPPING_ENV", "Contract", "Unavailable", "command", "contract", "enter"]

CONTAINER = "/opt/ml"
#: ``namespace`` (default) or ``python-only``
MAPPING_ENV = "SM_LOCAL_OPT_ML_MAPPING"
#: the job directory's ``opt/ml`` for ``_contract/sitecustomize.py`` (Python-only mapping)
PYTHON_ONLY_ENV = "SM_LOCAL_PYTHON_OPT_ML"
#: the job's image layout for ``_contract/sitecustomize.py`` (Python-only mapping): an absolute path
#: that exists there is read there
PYTHON_ONLY_IMAGE_ENV = "SM_LOCAL_PYTHON_IMAGE"

# <linux/sched.h>, <linux/mount.h>
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_SLAVE = 0x2, 0x4, 0x1000, 0x4000, 0x80000

_HOW_TO = (
    f"run jobs on Linux with user namespaces enabled (sysctl user.max_user_namespaces > 0; "
    f"kernel.unprivileged_userns_clone=1 on Debian kernels; kernel.apparmor_restrict_unprivileged_userns=0 on "
    f"Ubuntu 24.04+; not in a chroot, nor in a container without CAP_SYS_ADMIN or whose seccomp profile blocks "
    f"unshare), or in containers of a local Docker engine, or set {MAPPING_ENV}=python-only to accept a "
    f"mapping of /opt/ml seen by the job's Python file functions only (not by native libraries, Spark's JVM, "
    f"programs the job starts, or tarfile in a job forked from the warm interpreter)"
)


class Unavailable(Exception):
    """Why a job cannot have its own ``/opt/ml`` here, and what to do."""


def _libc() -> ctypes.CDLL:
    """The C library's ``unshare`` and ``mount``, from this process's own symbols (no ``ldconfig`` run)."""
    return ctypes.CDLL(None, use_errno=True)


def _call(what: str, result: int) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(libc: ctypes.CDLL, source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    encoded = [None if s is None else s.encode() for s in (source, target, fstype, data or None)]
    _call(f"mount {source} on {target}", libc.mount(*encoded[:3], ctypes.c_ulong(flags), encoded[3]))


def enter(opt_ml: str, image: str | None = None) -> None:
    """Make ``opt_ml`` (a host directory) this process's ``/opt/ml``, in a new mount namespace, and the
    files under ``image`` (an image's layout, as ``/`` in the container) visible at their paths.

    Call it in a single-threaded process (a forked child, or :func:`main` before ``exec``).
    :raises Unavailable: with the reason, when the platform does not allow it.
    """
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"{sys.platform} has no mount namespaces for the job's /opt/ml: {_HOW_TO}")
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    try:
        if uid == 0:
            _call("unshare(CLONE_NEWNS)", libc.unshare(_CLONE_NEWNS))
        else:
            _call("unshare(CLONE_NEWUSER | CLONE_NEWNS)", libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS))
            # the same ids inside: files the job writes belong to the user, as they would without it
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        _mount(libc, None, "/", None, _MS_REC | _MS_SLAVE)  # nothing mounted here reaches the host
        if os.path.isdir(CONTAINER):
            _mount(libc, opt_ml, CONTAINER, None, _MS_BIND | _MS_REC)
        elif os.path.isdir("/opt"):
            _cover_opt(libc, opt_ml)
        else:
            raise Unavailable(
                "this machine has no /opt directory to hold the job's /opt/ml: create it (an empty /opt), "
                f"or {_HOW_TO.split(', or ', 1)[1]}"
            )
    except OSError as error:
        raise Unavailable(
            f"the job's /opt/ml needs its own mount namespace and this machine refused it ({error.strerror}): {_HOW_TO}"
        ) from None
    if image is not None:
        _bind_image(libc, image)


def _protected() -> list[str]:
    """Where the Python and JVM the job runs with live: the image never replaces a file there."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    if os.environ.get("JAVA_HOME"):
        roots.add(os.environ["JAVA_HOME"])
    return sorted(os.path.realpath(r) for r in roots)


def _bind_image(libc: ctypes.CDLL, image: str) -> None:
    """The files of the image's layout ``image`` at their container paths (see the module's docs).

    :raises Unavailable: naming the path that cannot be provided, and why.
    """
    covered = {CONTAINER}  # directories this namespace owns: a new entry is made in them directly
    protected = _protected()

    def owned(directory: str) -> bool:
        return any(directory == d or directory.startswith(d.rstrip("/") + "/") for d in covered)

    def refuse(path: str, why: str) -> Unavailable:
        return Unavailable(f"the image's {path} cannot be provided to the job here: {why}")

    def merge(host: str, container: str) -> None:
        names = sorted(os.listdir(host))
        missing = [n for n in names if not os.path.lexists(os.path.join(container, n))]
        if missing and not owned(container):
            if container == "/":
                _cover_root(libc)  # the new top-level entries go into the new root; "/" stays unowned
            else:
                _cover(libc, container)
                covered.add(container)
        for name in names:
            source, target = os.path.join(host, name), os.path.join(container, name)
            if os.path.isdir(source) and not os.path.islink(source) and os.path.isdir(target):
                merge(source, target)  # a directory both have: the image's entries go into the host's
                continue
            if os.path.lexists(target):
                if os.path.isdir(source) != os.path.isdir(target):
                    kind = "a directory" if os.path.isdir(target) else "a file"
                    raise refuse(target, f"this machine has {kind} there, which the image's cannot replace")
                real = os.path.realpath(target)
                owner = next((r for r in protected if real == r or real.startswith(r.rstrip("/") + "/")), None)
                if owner is not None:
                    raise refuse(target, f"it would replace {real} of the Python or JVM the job runs with ({owner})")
            elif os.path.isdir(source):
                os.mkdir(target)
            else:
                Path(target).touch()
            _mount(libc, source, target, None, _MS_BIND | _MS_REC)

    try:
        merge(image, "/")
    except OSError as error:
        raise refuse(error.filename or image, error.strerror or str(error)) from None


def _cover_opt(libc: ctypes.CDLL, opt_ml: str) -> None:
    """A tmpfs on ``/opt`` with the host's entries bound back in, and ``ml``."""
    _cover(libc, "/opt")
    os.mkdir(CONTAINER)
    _mount(libc, opt_ml, CONTAINER, None, _MS_BIND | _MS_REC)


def _cover_root(libc: ctypes.CDLL) -> None:
    """A new root for this process: a tmpfs with every entry of ``/`` bound (or linked) back in,
    entered with ``chroot``, so an image can add top-level directories (``/app``) without hiding
    anything of the machine. The working directory is kept."""
    cwd = os.getcwd()
    root = tempfile.mkdtemp(prefix="sm-local-root-")
    _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755")
    _bind_back(libc, "/", root, sorted(os.listdir("/")))
    os.chroot(root)
    os.chdir(cwd)


def _cover(libc: ctypes.CDLL, directory: str) -> None:
    """A tmpfs on ``directory`` with the host's entries bound back in: the same content, and room for more."""
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    host_dir = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    try:
        entries = sorted(os.listdir(f"/proc/self/fd/{host_dir}"))
        _mount(libc, "tmpfs", directory, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode={mode:o}")
        _bind_back(libc, f"/proc/self/fd/{host_dir}", directory, entries)
    finally:
        os.close(host_dir)


def _bind_back(libc: ctypes.CDLL, source_dir: str, target_dir: str, names: list[str]) -> None:
    """Each of ``names`` in ``source_dir`` bound into the (fresh tmpfs) ``target_dir``: a symlink copied,
    a directory or file bound over an empty one of its kind."""
    for name in names:
        source, target = os.path.join(source_dir, name), os.path.join(target_dir, name)
        mode = os.lstat(source).st_mode
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), target)
            continue
        if stat.S_ISDIR(mode):
            os.mkdir(target)
        else:
            Path(target).touch()
        _mount(libc, source, target, None, _MS_BIND | _MS_REC)


def command(argv: list[str], opt_ml: str, image: str | None = None, cwd: str | None = None) -> list[str]:
    """``argv`` started in its own namespace with ``opt_ml`` at ``/opt/ml`` (through :func:`main`), the
    files of the image layout ``image`` at their paths, in the directory ``cwd`` as the namespace sees it."""
    options = [*(["--image", image] if image else []), *(["--cwd", cwd] if cwd else [])]
    return [sys.executable, "-I", "-S", str(Path(__file__).resolve()), opt_ml, *options, "--", *argv]


@functools.cache
def _unavailable() -> str | None:
    """Why this machine cannot give a job its own ``/opt/ml`` (tried once, in a throwaway process)."""
    if not sys.platform.startswith("linux"):
        return f"{sys.platform} has no mount namespaces for the job's /opt/ml: {_HOW_TO}"
    import subprocess

    with tempfile.TemporaryDirectory() as opt_ml:
        Path(opt_ml, "probe").touch()
        check = f"import os; assert os.path.isfile({CONTAINER + '/probe'!r}), 'no /opt/ml in the namespace'"
        probe = command([sys.executable, "-I", "-S", "-c", check], opt_ml)
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        return lines[-1] if lines else f"the namespace probe exited with code {done.returncode}: {_HOW_TO}"
    return None


class Contract(NamedTuple):
    """How a job sees ``/opt/ml``: bound in its namespace (``bind``) or mapped in its Python (``env``)."""

    bind: str | None
    env: dict[str, str]
    image: str | None = None

    def command(self, argv: list[str], cwd: str | None = None) -> list[str]:
        return command(argv, self.bind, self.image, cwd) if self.bind is not None else argv


def contract(opt_ml: Path, image: Path | None = None) -> Contract:
    """The contract for a job whose ``/opt/ml`` is the host directory ``opt_ml``, on the image laid out
    under ``image`` (:meth:`.images.LocalImage.layout`) if it runs on one.

    :raises Unavailable: when the namespace cannot be made here and the Python-only mapping was not chosen.
    """
    mapping = os.environ.get(MAPPING_ENV, "namespace").lower()
    if mapping == "python-only":
        contract_dir = str(Path(__file__).resolve().parent / "_contract")
        python_path = os.pathsep.join(p for p in (contract_dir, os.environ.get("PYTHONPATH")) if p)
        return Contract(None, {"PYTHONPATH": python_path, PYTHON_ONLY_ENV: str(opt_ml)})
    if mapping != "namespace":
        raise Unavailable(f"{MAPPING_ENV}={mapping!r} is neither 'namespace' (the default) nor 'python-only'")
    reason = _unavailable()
    if reason is not None:
        raise Unavailable(reason)
    opt_ml.mkdir(parents=True, exist_ok=True)
    return Contract(str(opt_ml), {}, None if image is None else str(image))


def main(args: list[str]) -> None:
    """``namespace.py <opt_ml> [--image <layout>] [--cwd <dir>] -- <command...>``: enter the namespace,
    then become the command."""
    opt_ml, *rest = args
    options: dict[str, str] = {}
    while len(rest) > 1 and rest[0] in ("--image", "--cwd"):
        options[rest[0]], rest = rest[1], rest[2:]
    separator, *argv = rest or [""]
    if separator != "--" or not argv:
        sys.exit("usage: namespace.py <host dir for /opt/ml> [--image <dir>] [--cwd <dir>] -- <command> [args...]")
    try:
        enter(opt_ml, options.get("--image"))
        if "--cwd" in options:
            os.chdir(options["--cwd"])
    except Unavailable as error:
        sys.exit(str(error))
    except OSError as error:
        sys.exit(f"the job's working directory {options['--cwd']}: {error.strerror}")
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        sys.exit(f"{argv[0]}: {error.strerror}" if error.errno != errno.ENOENT else f"{argv[0]}: command not found")


if __name__ == "__main__":
    main(sys.argv[1:])
