#!/usr/bin/env python3
"""Writes the manual page canvass.1 (gzipped when its name ends in .gz) and the bash completion of `canvass` from the built
binary's own help text (`canvass --help`, `canvass SUBCOMMAND --help`), so that neither can
drift from the program. Run by the build (tools/CMakeLists.txt) after linking canvass.

Usage: make_manpage.py CANVASS VERSION MANPAGE COMPLETION
"""
import gzip
import re
import subprocess
import sys


def help_text(canvass, *args):
    return subprocess.run([canvass, *args, "--help"], check=True, capture_output=True,
                          text=True).stdout


def subcommands(top):
    """(name, description) of each subcommand, in the help's order."""
    out = []
    section = None
    for line in top.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        match = re.match(r"^  (\S+)\s{2,}(.*)$", line)
        if section == "Subcommands" and match:
            out.append((match.group(1), match.group(2)))
    return out


def flags(text):
    """Every --flag (and -f) a help text lists."""
    found = []
    for line in text.splitlines():
        match = re.match(r"^  ((?:-\w,)?--[\w-]+)", line)
        if match:
            found.extend(match.group(1).split(","))
    return found


def roff(text):
    """Text as roff: backslashes escaped, no line starting with a control character."""
    lines = []
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e").replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def main():
    canvass, version, manpage, completion = sys.argv[1:5]
    top = help_text(canvass)
    commands = subcommands(top)
    if not commands:
        raise SystemExit("make_manpage: no subcommands in `canvass --help`")
    summary = top.splitlines()[0]
    page = [
        '.TH CANVASS 1 "" "canvass %s" "User Commands"' % version,
        ".SH NAME",
        "canvass \\- exact, parallel ballot aggregation and reconciliation",
        ".SH SYNOPSIS",
        ".B canvass",
        "[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIARGS\\fR...]",
        ".SH DESCRIPTION",
        roff(summary),
        ".PP",
        "The text of each section below is the program's own help (\\fBcanvass\\fR "
        "\\fISUBCOMMAND\\fR \\fB\\-\\-help\\fR), written into this page when canvass was built.",
        ".SH OPTIONS",
        ".nf",
        roff(top),
        ".fi",
        ".SH COMMANDS",
    ]
    words = {}
    for name, description in commands:
        text = help_text(canvass, name)
        words[name] = flags(text)
        page += [".SS canvass %s" % name, roff(description), ".PP", ".nf", roff(text), ".fi"]
    page += [
        ".SH EXIT STATUS",
        "0 match (or a tally or conversion that completed), 1 mismatch, 2 usage or input "
        "error; on 2 the message names the file, line or byte offset, and what was expected.",
        ".SH FILES",
        "The reference election (Iran 2024 presidential runoff, votes cast abroad) is embedded "
        "in the program and installed in \\fI/usr/share/canvass/ir\\-2024\\-runoff\\-overseas/\\fR.",
        ".SH SEE ALSO",
        "The formats, the report schema and the measured performance are documented in "
        "docs/FORMAT.md, docs/REPORT.md and docs/PERFORMANCE.md of the source.",
        "",
    ]
    text = "\n".join(page).encode()
    if manpage.endswith(".gz"):
        # As Debian installs manual pages: compressed, with no time stamp (reproducible).
        with open(manpage, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                       filename="") as out:
            out.write(text)
    else:
        with open(manpage, "wb") as out:
            out.write(text)

    cases = "\n".join("    %s) flags=%s ;;" % (name, shell_words(words[name]))
                      for name, _ in commands)
    script = """# bash completion for canvass, generated from its help text when it was built.
_canvass() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))
    return
  fi
  local flags=""
  case ${COMP_WORDS[1]} in
%s
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _canvass canvass
""" % (" ".join(name for name, _ in commands), cases)
    with open(completion, "w") as out:
        out.write(script)


def shell_words(words):
    return '"%s"' % " ".join(words)


if __name__ == "__main__":
    main()
