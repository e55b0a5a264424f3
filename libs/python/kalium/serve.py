"""app.serve(): `python3 app.py` hands the file to `kalium dev`, which serves it."""
import os
import shutil
import sys

HOW_TO_GET_KALIUM = """kalium's CLI was not found (neither `kalium` on PATH nor node_modules/.bin/kalium here or above).
app.serve() runs this file with it. Get it with Node.js 20 or later:
  npm install kalium        # in this project, then: python3 %(file)s   (or: npx kalium dev %(file)s)
and put kalium's Python package on PYTHONPATH for `python3 app.py`:
  export PYTHONPATH="$(npx kalium python-path)"
"""


def find_kalium_cli(start_dirs):
    on_path = shutil.which("kalium")
    if on_path:
        return on_path
    for start in start_dirs:
        directory = os.path.abspath(start)
        while True:
            candidate = os.path.join(directory, "node_modules", ".bin", "kalium")
            if os.access(candidate, os.X_OK):
                return candidate
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None


def _main_file():
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        raise RuntimeError("app.serve() must be called from a file run with python3 (python3 app.py)")
    return os.path.abspath(path)


def run_kalium_dev(host, port):
    app_file = _main_file()
    cli = find_kalium_cli([os.path.dirname(app_file), os.getcwd()])
    if cli is None:
        sys.stderr.write(HOW_TO_GET_KALIUM % {"file": os.path.relpath(app_file)})
        sys.exit(1)
    env = dict(os.environ)
    # potassium's serve(host, port) arguments, unless the environment already says where to listen.
    env.setdefault("HOST", str(host))
    env.setdefault("PORT", str(port))
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child: Ctrl-C and SIGTERM reach kalium directly, and there is one process to stop.
    os.execvpe(cli, [cli, "dev", app_file], env)
