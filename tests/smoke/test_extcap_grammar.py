#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke tests of the tlsdump extcap protocol and command line (no root).

Runs the built binary the way Wireshark does (--extcap-interfaces,
--extcap-dlts, --extcap-config) and checks every line against the extcap
grammar that Wireshark 4.0's extcap_parser.c accepts, plus the command line
contract: --help/--version, and one-line errors for bad input.

Usage: test_extcap_grammar.py --binary PATH [--expect-version X.Y.Z] [unittest args]
e.g.   test_extcap_grammar.py --binary build/extcap/tlsdump ExtcapGrammar
The TsharkPrefs tests exit 77 (skipped) when tshark is not installed.
"""

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

BINARY = None
EXPECT_VERSION = None
IFACE = "tlsdump"
SKIP = 77

# Sentences and their keys, from extcap_tokenize_sentence() and the parsers
# of Wireshark 4.0's extcap_parser.c.
SENTENCE_KEYS = {
    "extcap": {"version", "help"},
    "interface": {"value", "display"},
    "dlt": {"number", "name", "display"},
    "arg": {"number", "call", "display", "type", "default", "range", "tooltip",
            "placeholder", "mustexist", "fileext", "group", "required", "save",
            "reload", "validation"},
    "value": {"arg", "value", "display", "default", "enabled", "parent"},
    "control": {"number", "type", "role", "display", "validation", "default",
                "tooltip", "placeholder", "required"},
}
ARG_TYPES = {"integer", "unsigned", "long", "double", "boolean", "boolflag", "string",
             "password", "selector", "editselector", "radio", "multicheck",
             "fileselect", "timestamp"}
TYPES_WITH_VALUES = {"selector", "editselector", "radio", "multicheck"}
NUMERIC_TYPES = {"integer": int, "unsigned": int, "long": int, "double": float}
BOOLEAN_KEYS = {"mustexist", "required", "save", "reload", "enabled"}
# What each query may print.
QUERY_SENTENCES = {
    "--extcap-interfaces": {"extcap", "interface", "control", "value"},
    "--extcap-dlts": {"dlt"},
    "--extcap-config": {"arg", "value"},
}

# Stricter than Wireshark: one space after the keyword, no braces inside values
# (Wireshark splits {key=value} pairs on "}{", so a brace in a tooltip breaks it).
LINE_RE = re.compile(r"^(?P<sentence>[a-z]+) (?P<pairs>(\{[a-z]+=[^{}\n]*\})+)$")
PAIR_RE = re.compile(r"\{([a-z]+)=([^{}]*)\}")

# The options a Wireshark user can set (tshark -o extcap.tlsdump.NAME:VALUE).
CONFIG_OPTIONS = {
    "--pid": "string",
    "--comm": "string",
    "--max-bytes-per-call": "unsigned",
    "--label-http": "boolflag",
    "--packets": "selector",
    "--packet-interfaces": "string",
    "--tls-keylog": "fileselect",
    "--namespace": "string",
    "--pod": "string",
    "--container": "string",
    "--node-name": "string",
    "--containerd-state": "string",
    "--crio-state": "string",
    "--cni-cache": "string",
    "--k8s-api": "string",
    "--k8s-credentials": "string",
    "--ring-buffer-mb": "unsigned",
    "--btf": "fileselect",
    "--log-level": "selector",
    "--log-file": "fileselect",
}
# Everything --help must document.
HELP_OPTIONS = list(CONFIG_OPTIONS) + [
    "-p", "-c", "-w", "--write", "-d", "--duration", "-f", "--filter",
    "--list-targets", "-h", "--help", "-V", "--version",
    "--extcap-interfaces", "--extcap-version", "--extcap-interface", "--extcap-dlts",
    "--extcap-config", "--capture", "--fifo", "--extcap-capture-filter",
    "--extcap-control-in", "--extcap-control-out", "--extcap-reload-option",
]


def run(*args, timeout=30, env=None):
    """Runs the binary with @args; returns the CompletedProcess (text)."""
    return subprocess.run([BINARY, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=env)


def parse_sentences(test, text, allowed):
    """Checks every line of @text against the grammar; returns [(sentence, {key: value})]."""
    result = []
    test.assertTrue(text.endswith("\n"), "output must end with a newline: %r" % text)
    for line in text.split("\n")[:-1]:
        m = LINE_RE.match(line)
        test.assertIsNotNone(m, "line does not match the extcap grammar: %r" % line)
        sentence = m.group("sentence")
        test.assertIn(sentence, allowed, "sentence not expected here: %r" % line)
        pairs = PAIR_RE.findall(m.group("pairs"))
        keys = [k for k, _ in pairs]
        test.assertEqual(len(keys), len(set(keys)), "repeated key: %r" % line)
        unknown = set(keys) - SENTENCE_KEYS[sentence]
        test.assertFalse(unknown, "keys %s not allowed in %s: %r" % (unknown, sentence, line))
        result.append((sentence, dict(pairs)))
    return result


def check_boolean(test, value, line):
    test.assertIn(value, ("true", "false"), "boolean must be true or false: %r" % line)


def check_config(test, sentences):
    """Checks arg/value consistency of --extcap-config; returns {number: arg} in order."""
    args = {}
    defaults = {}
    for sentence, kv in sentences:
        if sentence == "arg":
            for key in ("number", "call", "display", "type"):
                test.assertIn(key, kv, "arg without %s: %r" % (key, kv))
            test.assertRegex(kv["number"], r"^[0-9]+$")
            number = int(kv["number"])
            test.assertTrue(number not in args, "arg number %d used twice" % number)
            test.assertTrue(kv["type"] in ARG_TYPES, "unknown arg type: %r" % kv)
            test.assertTrue(kv["call"].startswith("--"), "call must start with --: %r" % kv)
            test.assertTrue(kv["display"], "empty display: %r" % kv)
            for key in BOOLEAN_KEYS & kv.keys():
                check_boolean(test, kv[key], kv)
            convert = NUMERIC_TYPES.get(kv["type"])
            if "range" in kv:
                test.assertIsNotNone(convert, "range on a non-numeric arg: %r" % kv)
                low, high = (convert(x) for x in kv["range"].split(","))
                test.assertLessEqual(low, high, "empty range: %r" % kv)
            if "default" in kv and convert:
                default = convert(kv["default"])
                if "range" in kv:
                    test.assertTrue(low <= default <= high, "default out of range: %r" % kv)
            if "default" in kv and kv["type"] in ("boolflag", "boolean"):
                check_boolean(test, kv["default"], kv)
            args[number] = dict(kv, values=[])
        else:
            test.assertIn("arg", kv, "value without arg: %r" % kv)
            test.assertRegex(kv["arg"], r"^[0-9]+$")
            number = int(kv["arg"])
            # Wireshark attaches a value only to an arg printed before it.
            test.assertTrue(number in args, "value refers to unknown arg: %r" % kv)
            test.assertIn(args[number]["type"], TYPES_WITH_VALUES,
                          "value for an arg without choices: %r" % kv)
            test.assertIn("value", kv, "value without value: %r" % kv)
            test.assertIn("display", kv, "value without display: %r" % kv)
            for key in {"default", "enabled"} & kv.keys():
                check_boolean(test, kv[key], kv)
            if kv.get("default") == "true":
                test.assertNotIn(number, defaults, "two defaults for arg %d" % number)
                defaults[number] = kv["value"]
            args[number]["values"].append(kv)
    for number, arg in args.items():
        if arg["type"] in TYPES_WITH_VALUES:
            test.assertTrue(arg["values"], "%s has no value lines" % arg["call"])
    return args


def pref_name(call):
    """The preference key Wireshark 4.0 derives from a call (extcap_settings_key())."""
    return re.sub(r"[^a-zA-Z1-9_]", "", call)


class ExtcapGrammar(unittest.TestCase):
    """What Wireshark's own test suite checks of every extcap, and a bit more."""

    def query(self, *args):
        proc = run(*args)
        self.assertEqual(proc.returncode, 0, "%s failed: %s" % (args, proc.stderr))
        return parse_sentences(self, proc.stdout, QUERY_SENTENCES[args[0]])

    def test_interfaces(self):
        sentences = self.query("--extcap-interfaces", "--extcap-version=4.0")
        self.assertEqual(sentences[0][0], "extcap", "first line must be the extcap sentence")
        self.assertEqual(sum(1 for s, _ in sentences if s == "extcap"), 1)
        version = sentences[0][1].get("version")
        self.assertTrue(version, "extcap sentence without version")
        if EXPECT_VERSION:
            self.assertEqual(version, EXPECT_VERSION)
        ifaces = [kv for s, kv in sentences if s == "interface"]
        for kv in ifaces:
            self.assertIn("value", kv)
            self.assertIn("display", kv)
        values = [kv["value"] for kv in ifaces]
        self.assertEqual(len(values), len(set(values)), "interface listed twice")
        self.assertIn(IFACE, values)

    def test_interfaces_without_version(self):
        # Wireshark retries without --extcap-version when the first call prints nothing.
        self.assertEqual(run("--extcap-interfaces").stdout,
                         run("--extcap-interfaces", "--extcap-version=4.0").stdout)

    def test_dlts(self):
        sentences = self.query("--extcap-dlts", "--extcap-interface", IFACE)
        self.assertTrue(sentences, "no dlt")
        for _, kv in sentences:
            for key in ("number", "name", "display"):
                self.assertIn(key, kv)
            self.assertRegex(kv["number"], r"^[0-9]+$")
        self.assertIn(("252", "WIRESHARK_UPPER_PDU"),
                      [(kv["number"], kv["name"]) for _, kv in sentences])

    def test_config(self):
        args = check_config(self, self.query("--extcap-config", "--extcap-interface", IFACE))
        by_call = {a["call"]: a for a in args.values()}
        for call, type_ in CONFIG_OPTIONS.items():
            self.assertIn(call, by_call, "%s missing from --extcap-config" % call)
            self.assertEqual(by_call[call]["type"], type_, call)
            self.assertIn("tooltip", by_call[call], "%s without tooltip" % call)
        self.assertEqual(by_call["--max-bytes-per-call"].get("default"), "0")
        self.assertEqual(by_call["--ring-buffer-mb"].get("default"), "64")
        self.assertEqual(by_call["--ring-buffer-mb"].get("range"), "1,4096")
        self.assertNotEqual(by_call["--label-http"].get("default"), "true")
        levels = by_call["--log-level"]["values"]
        self.assertEqual([v["value"] for v in levels], ["error", "warning", "info", "debug"])
        self.assertEqual([v["value"] for v in levels if v.get("default") == "true"],
                         ["warning"])

    def test_config_calls_are_preference_names(self):
        # tshark -o extcap.tlsdump.<call without dashes>:VALUE. Wireshark drops every
        # character but [a-zA-Z1-9_] (yes, also 0), and preference names must be
        # lower case, so calls are --lowercase-words.
        args = check_config(self, self.query("--extcap-config", "--extcap-interface", IFACE))
        names = set()
        for arg in args.values():
            self.assertRegex(arg["call"], r"^--[a-z1-9]+(-[a-z1-9]+)*$")
            name = pref_name(arg["call"])
            self.assertNotIn(name, names, "two calls give the preference %s" % name)
            names.add(name)

    def test_unknown_interface(self):
        for query in ("--extcap-dlts", "--extcap-config"):
            proc = run(query, "--extcap-interface", "nosuchiface")
            self.assertNotEqual(proc.returncode, 0, query)
            self.assertEqual(proc.stdout, "", query)
            self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
            self.assertIn("nosuchiface", proc.stderr)


class ExtcapQuietStderr(unittest.TestCase):
    """Wireshark shows anything on stderr as an error: the queries print none."""

    def test_queries_print_nothing_on_stderr(self):
        for args in (("--extcap-interfaces", "--extcap-version=4.0"),
                     ("--extcap-interfaces",),
                     ("--extcap-dlts", "--extcap-interface", IFACE),
                     ("--extcap-config", "--extcap-interface", IFACE)):
            with self.subTest(args=args):
                proc = run(*args)
                self.assertEqual(proc.returncode, 0)
                self.assertEqual(proc.stderr, "")
                self.assertTrue(proc.stdout)


class CommandLine(unittest.TestCase):
    """--help, --version, and exactly one stderr line for every mistake."""

    def test_help(self):
        proc = run("--help")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stderr, "")
        for option in HELP_OPTIONS:
            with self.subTest(option=option):
                self.assertRegex(proc.stdout, r"(?<![\w-])%s(?![\w-])" % re.escape(option))
        self.assertEqual(run("-h").stdout, proc.stdout)

    def test_version(self):
        for flag in ("--version", "-V"):
            proc = run(flag)
            self.assertEqual(proc.returncode, 0)
            self.assertEqual(proc.stderr, "")
            self.assertRegex(proc.stdout, r"[0-9]+\.[0-9]+")
            if EXPECT_VERSION:
                self.assertIn(EXPECT_VERSION, proc.stdout)

    def assert_one_line_error(self, args, *names):
        proc = run(*args)
        self.assertNotEqual(proc.returncode, 0, "accepted: %s" % (args,))
        self.assertEqual(proc.stdout, "", args)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, "expected one stderr line for %s, got %r" %
                         (args, proc.stderr))
        self.assertTrue(lines[0].startswith("tlsdump: "), lines[0])
        self.assertTrue(any(name in lines[0] for name in names),
                        "%r does not name %s" % (lines[0], " or ".join(names)))

    def test_errors(self):
        cases = [
            (["--bogus"], "--bogus"),
            (["--bogus=1", "-w", "-"], "--bogus"),
            (["-Z"], "-Z"),
            (["--pid", "abc", "-w", "-"], "abc"),
            (["-p", "abc", "-w", "-"], "abc"),
            (["--pid", "0", "-w", "-"], "--pid"),
            (["--pid", "12,x", "-w", "-"], "--pid"),
            (["--pid"], "--pid"),
            (["-w"], "--write", "-w"),
            (["--comm", "a" * 16, "-w", "-"], "--comm"),
            (["--ring-buffer-mb", "0", "-w", "-"], "--ring-buffer-mb"),
            (["--ring-buffer-mb", "4097", "-w", "-"], "--ring-buffer-mb"),
            (["--max-bytes-per-call", "-1", "-w", "-"], "--max-bytes-per-call"),
            (["--duration", "-1", "-w", "-"], "--duration"),
            (["-d", "0", "-w", "-"], "--duration", "-d"),
            (["--log-level", "loud", "-w", "-"], "loud"),
            (["--label-http=yes", "-w", "-"], "--label-http"),
            (["-w", "-", "stray"], "stray"),
            (["--capture", "--extcap-interface", IFACE], "--fifo"),
            (["--capture", "--extcap-interface", "nosuchiface", "--fifo", "/nonexistent"],
             "nosuchiface"),
        ]
        for args, *names in cases:
            with self.subTest(args=args):
                self.assert_one_line_error(args, *names)

    def test_no_mode(self):
        for args in ([], ["--pid", "1"], ["--label-http"]):
            with self.subTest(args=args):
                self.assert_one_line_error(args, "-w")


class TsharkPrefs(unittest.TestCase):
    """tshark finds the extcap and turns its arguments into preferences."""

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="tlsdump-smoke-")
        extdir = os.path.join(self.home, ".config", "wireshark", "extcap")
        os.makedirs(extdir)
        self.calls = os.path.join(self.home, "calls")
        # The wrapper proves tshark ran this build (not an installed copy), and
        # records a capture call instead of capturing (that needs root and eBPF).
        wrapper = os.path.join(extdir, IFACE)
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\n'
                    'printf "%%s\\n" "$*" >> "%s"\n'
                    'for a; do [ "$a" = --capture ] && exit 0; done\n'
                    'exec "%s" "$@"\n' % (self.calls, os.path.abspath(BINARY)))
        os.chmod(wrapper, stat.S_IRWXU)
        self.env = dict(os.environ, HOME=self.home,
                        XDG_CONFIG_HOME=os.path.join(self.home, ".config"))

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def tshark(self, *args):
        return subprocess.run(["tshark", *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120, env=self.env)

    def read_calls(self):
        with open(self.calls) as f:
            return f.read().splitlines()

    def test_currentprefs(self):
        config = run("--extcap-config", "--extcap-interface", IFACE)
        args = check_config(self, parse_sentences(self, config.stdout, {"arg", "value"}))
        proc = self.tshark("-G", "currentprefs")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(any("--extcap-config" in c for c in self.read_calls()),
                        "tshark did not query this build")
        for arg in args.values():
            key = "extcap.%s.%s" % (IFACE, pref_name(arg["call"]))
            with self.subTest(key=key):
                self.assertRegex(proc.stdout, r"(?m)^#?%s:" % re.escape(key))

    def test_options_reach_the_capture_call(self):
        self.tshark("-i", IFACE, "-a", "duration:1",
                    "-o", "extcap.%s.pid:1234,5678" % IFACE,
                    "-o", "extcap.%s.labelhttp:true" % IFACE,
                    "-o", "extcap.%s.loglevel:debug" % IFACE)
        captures = [c for c in self.read_calls() if "--capture" in c.split()]
        self.assertTrue(captures, "tshark did not start a capture")
        argv = captures[-1].split()
        self.assertIn("--fifo", argv)
        self.assertIn("--label-http", argv)
        self.assertEqual(argv[argv.index("--pid") + 1], "1234,5678")
        self.assertEqual(argv[argv.index("--log-level") + 1], "debug")
        self.assertEqual(argv[argv.index("--ring-buffer-mb") + 1], "64")


def main():
    global BINARY, EXPECT_VERSION
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the tlsdump executable")
    parser.add_argument("--expect-version", help="version --extcap-interfaces must report")
    opts, rest = parser.parse_known_args()
    BINARY = opts.binary
    EXPECT_VERSION = opts.expect_version
    if not os.access(BINARY, os.X_OK):
        sys.exit("not an executable: %s" % BINARY)
    if any(a.startswith("TsharkPrefs") for a in rest) and not shutil.which("tshark"):
        print("tshark not installed: skipped")
        sys.exit(SKIP)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
