#!/usr/bin/env python3
"""The HTML report in a real browser: Debian's chromium, headless.

Runs the real `canvass` binary to write the JSON and the HTML report of the same run (a
`run` with faults, a `reconcile` of a generated folder with a mismatch, a NIST contest
report with a mismatch and a Dominion export), loads each page from a file URL with
`chromium --headless --dump-dom`, and checks, in the DOM the browser built after the
page's script ran:

  - every figure cell (data-key, or a compact row's data-row + its column's data-col)
    shows the JSON value at that pointer (docs/REPORT.md, "HTML report");
  - every figure of the JSON's counted and reported tables is on the page;
  - the page's script ran (<html data-script="ok">) and the console logged no error;
  - a synthetic report shows its SYNTHETIC banner;
  - `--format html` prints the same page `--html FILE` writes.

Then it takes a desktop (1280x900) and a phone (390x844) screenshot of one page and
checks that they are PNGs. Standard library only.

Usage: html_browser_test.py CANVASS_BINARY SOURCE_DIR [CHROMIUM]
(CANVASS_BINARY_UNDER_TEST, when set, names the binary instead.)
"""

import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def fail(message):
    FAILURES.append(message)
    print("FAIL: " + message, file=sys.stderr)


def canvass(binary, args, expect_codes=(0, 1)):
    done = subprocess.run([binary] + args, capture_output=True, timeout=300)
    if done.returncode not in expect_codes:
        raise SystemExit("canvass %s: exit %d\n%s" % (" ".join(args), done.returncode,
                                                      done.stderr.decode(errors="replace")))
    return done.stdout


def chromium(browser, args, timeout=120):
    """Runs headless chromium; returns (stdout, stderr)."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-extensions", "--enable-logging=stderr",
               "--v=0"] + args
    done = subprocess.run(command, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit("chromium exit %d\n%s" % (done.returncode,
                                                   done.stderr.decode(errors="replace")))
    return done.stdout.decode("utf-8"), done.stderr.decode("utf-8", errors="replace")


def resolve(document, pointer):
    """The value at a JSON Pointer (RFC 6901); KeyError when there is none."""
    value = document
    if pointer == "":
        return value
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(token)]
        elif isinstance(value, dict):
            value = value[token]
        else:
            raise KeyError(pointer)
    return value


def figure_of(text):
    """What a figure's text means (docs/REPORT.md): separators and '+' dropped, '—' null."""
    text = text.strip()
    if text == "\u2014":
        return None
    number = text.replace(",", "").replace("+", "")
    if number.lstrip("-").isdigit():
        return int(number)
    return text


class Figures(html.parser.HTMLParser):
    """Collects (pointer, text) of every keyed figure in a DOM, and the page's markers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figures = []
        self.html_attributes = {}
        self.synthetic_banner = False
        self._open = []          # [pointer, text] of keyed elements being read
        self._columns = []       # data-col of the current table's header cells
        self._in_head = False
        self._row = None         # data-row of the current compact row
        self._cell_index = -1
        self._cell_text = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.html_attributes = attributes
        if attributes.get("id") == "synthetic":
            self.synthetic_banner = True
        if tag == "table":
            self._columns = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head:
            self._columns.append(attributes.get("data-col", ""))
        elif tag == "tr":
            self._row = attributes.get("data-row")
            self._cell_index = -1
        elif tag == "td" and self._row is not None:
            self._cell_index += 1
            self._cell_text = []
        if "data-key" in attributes:
            self._open.append([attributes["data-key"], [], tag])

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        if tag == "td" and self._row is not None and self._cell_text is not None:
            if self._cell_index < len(self._columns) and self._columns[self._cell_index]:
                pointer = self._row + "/" + self._columns[self._cell_index]
                self.figures.append((pointer, "".join(self._cell_text)))
            self._cell_text = None
        if tag == "tr":
            self._row = None
        if self._open and self._open[-1][2] == tag:
            pointer, text, _ = self._open.pop()
            self.figures.append((pointer, "".join(text)))

    def handle_data(self, data):
        for entry in self._open:
            entry[1].append(data)
        if self._cell_text is not None:
            self._cell_text.append(data)


def required_pointers(report):
    """The figures of the JSON's counted and reported tables, which the page must show."""
    pointers = []

    def every(base, value):
        if isinstance(value, dict):
            for key, item in value.items():
                every(base + "/" + key.replace("~", "~0").replace("/", "~1"), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                every("%s/%d" % (base, index), item)
        elif isinstance(value, int) and not isinstance(value, bool):
            pointers.append(base)

    if report["report_version"] == 1:
        for key in ("totals", "reported", "delta", "records", "predicted", "stations",
                    "countries"):
            if key in report:
                every("/" + key, report[key])
        if "faults" in report:
            every("/faults/fired", report["faults"]["fired"])
    else:
        for key in ("contests", "records", "cells", "mismatches", "units", "predicted"):
            if key in report:
                every("/" + key, report[key])
        if "faults" in report:
            every("/faults/fired", report["faults"]["fired"])
    return pointers


def check_page(name, browser, page, report, expect_synthetic):
    dom, log = chromium(browser, ["--dump-dom", "file://" + os.path.abspath(page)])
    parser = Figures()
    parser.feed(dom)
    if parser.html_attributes.get("data-script") != "ok":
        fail("%s: the page's script did not run to its end (no data-script=ok)" % name)
    for line in log.splitlines():
        if "CONSOLE" in line or "Uncaught" in line or "Content Security Policy" in line:
            fail("%s: console: %s" % (name, line))
    if parser.synthetic_banner != expect_synthetic:
        fail("%s: SYNTHETIC banner %s" % (name, "missing" if expect_synthetic else "shown"))
    shown = {}
    for pointer, text in parser.figures:
        try:
            expected = resolve(report, pointer)
        except (KeyError, IndexError, ValueError):
            fail("%s: %s is not in the JSON report" % (name, pointer))
            continue
        got = figure_of(text)
        if isinstance(expected, bool) or got != expected:
            fail("%s: %s shows %r, the JSON says %r" % (name, pointer, text, expected))
        shown[pointer] = got
    missing = [p for p in required_pointers(report) if p not in shown]
    for pointer in missing[:20]:
        fail("%s: the JSON figure %s is not on the page" % (name, pointer))
    print("%s: %d figures checked against the JSON, %d required, all shown: %s" %
          (name, len(parser.figures), len(required_pointers(report)), not missing))
    return dom


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    # The sanitizer presets' e2e runs name their instrumented binary (CMakePresets.json).
    binary = os.environ.get("CANVASS_BINARY_UNDER_TEST") or sys.argv[1]
    source = sys.argv[2]
    browser = sys.argv[3] if len(sys.argv) > 3 else shutil.which("chromium")
    if not browser:
        raise SystemExit("chromium not found")
    work = tempfile.mkdtemp(prefix="canvass-html-")
    try:
        os.chdir(work)
        cases = []

        # 1. A synthetic run with faults, drilled down by station.
        run_args = ["run", "--faults", "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001",
                    "--by", "station"]
        run_json = canvass(binary, run_args + ["--format", "json", "--html", "run.html"])
        run_page = canvass(binary, run_args + ["--format", "html"])
        with open("run.html", "rb") as written:
            if written.read() != run_page:
                fail("run: --format html and --html FILE differ")
        cases.append(("run --faults", "run.html", json.loads(run_json), True))

        # 2. reconcile of a generated folder whose records were dropped: a mismatch.
        canvass(binary, ["generate", "--out", "folder", "--faults", "drop=0.02"], (0,))
        reconcile_json = canvass(binary, ["reconcile", "folder", "--by", "country", "--quiet",
                                          "--format", "json", "--html", "reconcile.html"])
        reconcile = json.loads(reconcile_json)
        if reconcile["verdict"] != "mismatch":
            fail("reconcile: expected a mismatch")
        cases.append(("reconcile", "reconcile.html", reconcile, True))

        # 3. A contest election (NIST cast vote records) whose reported figures were edited:
        #    a mismatch at a precinct and at the county.
        shutil.copytree(os.path.join(source, "datasets", "contests-example"), "contests")
        with open("contests/reported.csv") as reported:
            lines = reported.read().splitlines()
        lines = [line.replace("p1,mayor,ann,2", "p1,mayor,ann,4") for line in lines]
        with open("contests/reported.csv", "w") as reported:
            reported.write("\n".join(lines) + "\n")
        contest_json = canvass(binary, ["reconcile", "--election", "contests",
                                        "contests/cvr.json", "--by", "unit", "--format",
                                        "json", "--html", "contests.html"])
        contest = json.loads(contest_json)
        if not contest.get("mismatches"):
            fail("contests: expected mismatching cells")
        cases.append(("contests reconcile", "contests.html", contest, False))

        # 4. A real Dominion export, by unit (precinct portions).
        dominion = os.path.join(source, "datasets", "dominion", "alaska-2024-partial")
        dominion_json = canvass(binary, ["aggregate", dominion, "--by", "unit", "--format",
                                         "json", "--html", "dominion.html"])
        dominion_report = json.loads(dominion_json)
        # Its House contest's InvalidContest sessions (73 of 197) are a plausibility warning,
        # so the warnings section and its keyed figures are checked on a real export.
        if not any(w["check"] == "invalid_share" for w in dominion_report["warnings"]):
            fail("dominion: expected an invalid_share warning")
        cases.append(("dominion aggregate", "dominion.html", dominion_report, False))

        # 5. Cast vote records generated from NIST's GEN-03 results report with faults,
        # reconciled against it with their prediction: injected faults and ground truth.
        err = os.path.join(source, "datasets", "nist-cdf", "gen-03", "err-gen-03.json")
        canvass(binary, ["generate", "--reported", err, "--format", "nist-json", "--scale", "5",
                         "--faults", "drop=0.02,dup=0.05,conflict=0.02,corrupt=0.02",
                         "--out", "faulty"], (0,))
        faulty_json = canvass(binary, ["reconcile", "--reported", err, "--scale", "5",
                                       "--predicted", "faulty-predicted.json", "faulty/cvr.json",
                                       "--by", "unit", "--format", "json", "--html",
                                       "faulty.html"])
        faulty = json.loads(faulty_json)
        if faulty.get("ground_truth") != "exact":
            fail("faulty CVRs: expected ground_truth exact, got %r" % faulty.get("ground_truth"))
        cases.append(("faulty CVRs reconcile", "faulty.html", faulty, True))

        for name, page, report, synthetic in cases:
            check_page(name, browser, page, report, synthetic)

        for label, size in (("desktop", "1280,900"), ("phone", "390,844")):
            shot = os.path.join(work, "shot-%s.png" % label)
            chromium(browser, ["--hide-scrollbars", "--screenshot=" + shot,
                               "--window-size=" + size, "file://" + os.path.join(work, "run.html")])
            with open(shot, "rb") as png:
                if png.read(8) != b"\x89PNG\r\n\x1a\n":
                    fail("screenshot %s: not a PNG" % label)
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("%d failures" % len(FAILURES), file=sys.stderr)
        return 1
    print("all HTML reports match their JSON in chromium")
    return 0


if __name__ == "__main__":
    sys.exit(main())
