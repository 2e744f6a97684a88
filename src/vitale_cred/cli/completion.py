"""``vitale-cred completion bash|zsh``: shell completion generated from the parser itself.

No dependency and no Python at completion time: the script holds, for every command
and action (``status-list build``), its actions, its options and what each option's
value is (a file, a directory, an environment variable, one of its choices, or
anything), read from the argparse parser that runs the commands. A new option is
completed as soon as it is added there.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from vitale_cred import __version__

__all__ = ["SHELLS", "script"]

SHELLS = ("bash", "zsh")

#: Values that are not paths: no file names offered for them.
_NOT_A_PATH = frozenset(
    {
        "at",
        "invoice",
        "key_label",
        "nonce",
        "professional",
        "qr_text",
        "reader",
        "scheduler",
        "status_uri",
        "token_label",
        "uri",
        "vpcd",
    }
)


@dataclass(frozen=True)
class _Command:
    """One command or action: what follows it on the command line."""

    key: str  # "" for vitale-cred itself, "status-list build" for an action
    subcommands: tuple[tuple[str, str], ...]  # (name, summary)
    options: tuple[tuple[str, str, str], ...]  # (option string, value kind, help)
    positionals: tuple[str, ...]  # value kind of each positional, in order
    rest: str | None  # value kind of the last positional when it repeats (nargs + or *)


def _kind(action: argparse.Action) -> str:
    """What an option or positional takes: "" (nothing, a flag), "choices:A B",
    "dir", "env", "file" or "none" (a value with nothing to offer)."""
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return "choices:" + " ".join(str(c) for c in action.choices)
    if action.type in (int, float):
        return "none"
    if action.metavar == "DIR":
        return "dir"
    if action.dest.endswith("_env"):
        return "env"
    if action.dest in _NOT_A_PATH:
        return "none"
    return "file"


def _summary(text: str | None) -> str:
    line = " ".join((text or "").split())
    return line.replace("%(default)s", "").replace("%%", "%")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[_Command]:
    subcommands: list[tuple[str, str]] = []
    options: list[tuple[str, str, str]] = []
    positionals: list[str] = []
    rest: str | None = None
    children: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                subcommands.append((name, _summary(helps.get(name))))
                children.append((name, child))
        elif action.option_strings:
            kind = _kind(action)
            options += [(o, kind, _summary(action.help)) for o in action.option_strings]
        elif action.nargs in ("+", "*"):
            rest = _kind(action)
        else:
            positionals.append(_kind(action))
    yield _Command(" ".join(path), tuple(subcommands), tuple(options), tuple(positionals), rest)
    for name, child in children:
        yield from _commands(child, (*path, name))


def _q(text: str) -> str:
    return shlex.quote(text) if text else "''"


def _data_functions(commands: list[_Command], *, described: bool) -> str:
    """The tables, as shell functions that bash and zsh both run."""
    out: list[str] = []

    def function(name: str, comment: str, subject: str, cases: list[tuple[str, str]]) -> None:
        out.append(f"# {comment}")
        out.append(f"{name}() {{")
        out.append(f"    case {subject} in")
        out.extend(f"        {pattern}) {body} ;;" for pattern, body in cases)
        out.append("    esac")
        out.append("}")
        out.append("")

    def lines(items: list[str]) -> str:
        return "printf '%s\\n' " + " ".join(_q(i) for i in items)

    function(
        "_vitale_cred_subcommands",
        "The actions of COMMAND ($1), one a line.",
        '"$1"',
        [(_q(c.key), lines([n for n, _ in c.subcommands])) for c in commands if c.subcommands],
    )
    function(
        "_vitale_cred_options",
        "The options of COMMAND ($1), one a line.",
        '"$1"',
        [(_q(c.key), lines([o for o, _, _ in c.options])) for c in commands if c.options],
    )
    function(
        "_vitale_cred_option_kind",
        "What OPTION ($2) of COMMAND ($1) takes: nothing for a flag, else file, dir, env, "
        "none or choices:A B.",
        '"$1|$2"',
        [(_q(f"{c.key}|{o}"), f"echo {_q(k)}") for c in commands for o, k, _ in c.options if k],
    )
    cases = [
        (_q(f"{c.key}|{n}"), f"echo {_q(k)}") for c in commands for n, k in enumerate(c.positionals)
    ]
    cases += [(_q(f"{c.key}|") + "*", f"echo {_q(c.rest)}") for c in commands if c.rest]
    function(
        "_vitale_cred_positional_kind",
        "What the positional argument number $2 (from 0) of COMMAND ($1) takes.",
        '"$1|$2"',
        cases,
    )
    if described:
        function(
            "_vitale_cred_describe_subcommands",
            "The actions of COMMAND ($1) with their summaries, NAME:SUMMARY a line.",
            '"$1"',
            [
                (_q(c.key), lines([f"{n}:{h}" for n, h in c.subcommands]))
                for c in commands
                if c.subcommands
            ],
        )
        function(
            "_vitale_cred_describe_options",
            "The options of COMMAND ($1) with their help, OPTION:HELP a line.",
            '"$1"',
            [
                (_q(c.key), lines([f"{o}:{h}" for o, _, h in c.options]))
                for c in commands
                if c.options
            ],
        )
    return "\n".join(out)


# The walk over the words before the cursor, shared by both shells: it finds the
# command (and action) being typed, the number of positionals given, and whether
# the word under the cursor is the value of an option.
_WALK = """\
    local cmd='' kind='' word subs
    local npos=0
    for ((i = FIRST; i < LAST; i++)); do
        word=${WORDS[i]}
        if [[ -n $kind ]]; then
            [[ $word == = ]] && continue
            kind=''
            continue
        fi
        case $word in
            -) npos=$((npos + 1)) ;;
            -*=*) ;;
            -*) kind=$(_vitale_cred_option_kind "$cmd" "$word") ;;
            *)
                subs=$(_vitale_cred_subcommands "$cmd")
                if [[ -n $subs && $'\\n'$subs$'\\n' == *$'\\n'"$word"$'\\n'* ]]; then
                    cmd=${cmd:+$cmd }$word
                    npos=0
                else
                    npos=$((npos + 1))
                fi
                ;;
        esac
    done
"""

_BASH_MAIN = """\
_vitale_cred() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local i
WALK
    if [[ -z $kind ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$(_vitale_cred_options "$cmd")" -- "$cur")
            return 0
        fi
        subs=$(_vitale_cred_subcommands "$cmd")
        if [[ -n $subs ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
            return 0
        fi
        kind=$(_vitale_cred_positional_kind "$cmd" "$npos")
    fi
    [[ $cur == = ]] && cur=''
    case $kind in
        file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            ;;
        dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        env) mapfile -t COMPREPLY < <(compgen -e -- "$cur") ;;
        choices:*) mapfile -t COMPREPLY < <(compgen -W "${kind#choices:}" -- "$cur") ;;
        *) COMPREPLY=() ;;
    esac
    return 0
}

complete -F _vitale_cred vitale-cred
"""

_ZSH_MAIN = """\
_vitale_cred() {
    local cur=${words[CURRENT]}
    local -a described
    integer i
WALK
    if [[ -z $kind ]]; then
        if [[ $cur == -* ]]; then
            described=(${(f)"$(_vitale_cred_describe_options "$cmd")"})
            _describe -t options 'option' described
            return
        fi
        subs=$(_vitale_cred_subcommands "$cmd")
        if [[ -n $subs ]]; then
            described=(${(f)"$(_vitale_cred_describe_subcommands "$cmd")"})
            _describe -t commands 'vitale-cred command' described
            return
        fi
        kind=$(_vitale_cred_positional_kind "$cmd" "$npos")
    fi
    case $kind in
        file) _files ;;
        dir) _files -/ ;;
        env) _parameters -g '*export*' ;;
        choices:*) compadd -- ${=kind#choices:} ;;
        *) _message 'a value' ;;
    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _vitale_cred "$@"
else
    compdef _vitale_cred vitale-cred
fi
"""


def _bash(commands: list[_Command]) -> str:
    walk = _WALK.replace("FIRST", "1").replace("LAST", "COMP_CWORD").replace("WORDS", "COMP_WORDS")
    head = (
        f"# bash completion for vitale-cred {__version__}, generated from its parser by\n"
        "# `vitale-cred completion bash`. Load it with\n"
        "#   source <(vitale-cred completion bash)\n"
        "# or save it as ~/.local/share/bash-completion/completions/vitale-cred\n\n"
    )
    return head + _data_functions(commands, described=False) + _BASH_MAIN.replace("WALK\n", walk)


def _zsh(commands: list[_Command]) -> str:
    walk = _WALK.replace("FIRST", "2").replace("LAST", "CURRENT").replace("WORDS", "words")
    head = (
        "#compdef vitale-cred\n"
        f"# zsh completion for vitale-cred {__version__}, generated from its parser by\n"
        "# `vitale-cred completion zsh`. Save it as _vitale-cred in a directory of $fpath\n"
        "# before compinit runs, or load it after compinit with\n"
        "#   source <(vitale-cred completion zsh)\n\n"
    )
    return head + _data_functions(commands, described=True) + _ZSH_MAIN.replace("WALK\n", walk)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script of ``parser`` for ``shell`` (one of :data:`SHELLS`)."""
    commands = list(_commands(parser))
    if shell == "zsh":
        return _zsh(commands)
    return _bash(commands)
