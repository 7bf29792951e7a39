"""Scripts embedded into notebook lifecycle configurations (nothing is downloaded at start)."""

from __future__ import annotations

from importlib import resources

__all__ = ["AUTOSTOP_MARKER", "autostop_checker_source", "autostop_script"]

#: Heredoc delimiter around the embedded checker; never a line of the checker itself.
AUTOSTOP_MARKER = "SM_CONSTRUCTS_AUTOSTOP"
_DIR = "/home/ec2-user/.sm-constructs"


def autostop_checker_source() -> str:
    """The Python source of the idle checker (:mod:`sm_constructs.lifecycle.autostop`)."""
    return resources.files(__name__).joinpath("autostop.py").read_text()


def autostop_script(idle_minutes: int) -> str:
    """Bash that installs the embedded idle checker and schedules it every 5 minutes.

    Runs in a subshell with strict error handling so it neither changes nor is changed by the
    rest of the start script; if it fails, the start script fails (the notebook would otherwise
    silently never stop). Prefers an interpreter that has boto3; the checker falls back to the
    AWS CLI. Uses a systemd timer (Amazon Linux 2 and 2023 have systemd; AL2023 has no cron
    daemon by default), and an ``/etc/cron.d`` entry where systemd is missing.
    """
    checker = autostop_checker_source()
    if not checker.endswith("\n"):
        checker += "\n"
    return f"""#!/bin/bash
# sm_constructs auto-stop: stop this notebook after {idle_minutes} idle minutes (embedded; nothing is downloaded).
(
set -euo pipefail
install -d -m 755 {_DIR}
cat > {_DIR}/autostop.py <<'{AUTOSTOP_MARKER}'
{checker}{AUTOSTOP_MARKER}
PYTHON=""
for check in "import boto3, sys; assert sys.version_info >= (3, 7)" "import sys; assert sys.version_info >= (3, 7)"; do
  for candidate in /home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python /usr/bin/python3; do
    if [ -z "$PYTHON" ] && [ -x "$candidate" ] && "$candidate" -c "$check" 2>/dev/null; then PYTHON=$candidate; fi
  done
done
if [ -z "$PYTHON" ]; then echo "auto-stop: no Python 3.7+ interpreter found" >&2; exit 1; fi
COMMAND="$PYTHON {_DIR}/autostop.py --idle-minutes {idle_minutes}"
if command -v systemctl >/dev/null 2>&1; then
  cat > /etc/systemd/system/sm-autostop.service <<UNIT
[Unit]
Description=Stop this SageMaker notebook instance when it is idle
[Service]
Type=oneshot
ExecStart=$COMMAND
UNIT
  cat > /etc/systemd/system/sm-autostop.timer <<'UNIT'
[Unit]
Description=Check every 5 minutes whether this notebook instance is idle
[Timer]
OnCalendar=*:0/5
[Install]
WantedBy=timers.target
UNIT
  systemctl daemon-reload
  systemctl enable --now sm-autostop.timer
else
  echo "*/5 * * * * root $COMMAND >> /var/log/sm-autostop.log 2>&1" > /etc/cron.d/sm-autostop
fi
)
SM_AUTOSTOP_STATUS=$?
if [ "$SM_AUTOSTOP_STATUS" -ne 0 ]; then echo "auto-stop setup failed" >&2; exit "$SM_AUTOSTOP_STATUS"; fi
"""
