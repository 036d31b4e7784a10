"""Lua scripting engine (lupa, Lua 5.1): sandbox, libraries and runtime.

See runtime.py for how scripts run, convert values and answer BUSY.
"""

from .runtime import BUSY_EVAL, BUSY_FUNCTION, Engine, ScriptRun, sha1hex

__all__ = ["Engine", "ScriptRun", "BUSY_EVAL", "BUSY_FUNCTION", "sha1hex"]
