#!/usr/bin/env python3
"""viewer_test.py: greenscope-viewer end to end, in an Xvfb of its own.

  viewer_test.py --viewer PATH --work DIR CHECK

CHECK is one of:
  Screenshot          the whole trace: the requested size, the stall's red,
                      several greenlet hues, text
  SelectLongestStall  --select longest-stall: the stall fills the view, red
  BadInput            a missing file and a non-trace file: non-zero exit and
                      a message naming the file, never a crash
  DamagedTrace        a cut trace: shown (exit 0), its problems listed
  Interactive         the viewer as a user runs it, driven by xdotool: wheel
                      zoom on the stall, a click on it; the state dump must
                      show the stall selected and described
  Search              typing the spinner's function into the search panel
                      lists its stall; clicking the hit selects that stall
  Histogram           the run-length histogram counts every run the
                      greenlet summaries count
  RunInfoMarker       a click on the hub row's run-info marker opens the dump
  Follow              --follow on a trace that grows: the first part, then
                      the rest appended; the view shows more spans
  Drop                --drop FILE, the command-line path of the window's drop
                      handler (xdotool cannot drop files: no XDND source), adds
                      a second process on the same axis
  SampleTraces        every trace in traces/ (--traces DIR): opened at its
                      longest stall, with what that trace must show (the
                      stall's red, greenlet hues, a crash, a run-info dump)
  OddNames            odd.gstrace (tests/cli/odd_names: names with escape
                      sequences, NUL, bytes that are not UTF-8...) opened at
                      its stall: exit 0, text drawn, and the heading drawn
                      for the stall's culprit is UTF-8 with U+FFFD in place
                      of ESC and the bad byte

DIR holds viewer.gstrace (the ViewerRecordTrace fixture), odd.gstrace
(ViewerRecordOddTrace) and the outputs.
Every wait is on an event (a window, a file, a state), bounded only so that
a broken viewer fails instead of hanging; no check is about time.
"""
import argparse
import colorsys
import os
import signal
import subprocess
import sys
import time

GIVE_UP = 30.0  # seconds: a hang guard, not a timing assertion


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def wait_for(what, predicate, poke=None):
    """wait_for() polls predicate() until true; poke() is called each round."""
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        if poke:
            poke()
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    fail("gave up waiting for " + what)


class Xvfb:
    """Xvfb on a display it picks itself (-displayfd): no clash with others."""

    def __enter__(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        data = b""
        with os.fdopen(r, "rb") as f:
            while not data.endswith(b"\n"):
                chunk = f.read(1)
                if not chunk:
                    fail("Xvfb exited before naming its display")
                data += chunk
        self.display = ":" + data.decode().strip()
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()

    def env(self):
        e = dict(os.environ)
        e["DISPLAY"] = self.display
        e["LIBGL_ALWAYS_SOFTWARE"] = "1"
        # llvmpipe renders on the viewer's own thread: its worker threads
        # race inside Mesa (ThreadSanitizer reports a mutex destroyed while
        # an llvmpipe thread uses it, in swrast_dri.so), not our code to fix.
        e["LP_NUM_THREADS"] = "0"
        return e


def read_png(path):
    """read_png() is (width, height, rgb bytes), through ImageMagick."""
    size = subprocess.run(["identify", "-format", "%w %h", path], check=True, capture_output=True, text=True)
    w, h = map(int, size.stdout.split())
    raw = subprocess.run(["convert", path, "-depth", "8", "rgb:-"], check=True, capture_output=True).stdout
    return w, h, raw


def pixel_stats(raw):
    red = text = 0
    hues = {}
    for i in range(0, len(raw), 3):
        r, g, b = raw[i], raw[i + 1], raw[i + 2]
        if r > 200 and g < 60 and b < 60:
            red += 1
        elif r > 200 and g > 200 and b > 200:
            text += 1
        else:
            h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
            if s > 0.4 and v > 0.6 and 0.1 <= h <= 0.9:
                hues[int(h * 36)] = hues.get(int(h * 36), 0) + 1
    distinct = sum(1 for n in hues.values() if n >= 40)
    return red, text, distinct


def run_viewer(args, xvfb, *extra):
    trace = os.path.join(args.work, "viewer.gstrace")
    return subprocess.run([args.viewer, *extra, trace], env=xvfb.env(), capture_output=True, text=True,
                          timeout=GIVE_UP * 2)


def screenshot(args, name, *extra):
    out = os.path.join(args.work, name)
    if os.path.exists(out):
        os.unlink(out)
    with Xvfb() as x:
        r = run_viewer(args, x, "--screenshot", out, "--size", "1400x900", *extra)
    if r.returncode != 0:
        fail("viewer exited %d: %s" % (r.returncode, r.stderr))
    if not os.path.exists(out):
        fail("no screenshot written")
    w, h, raw = read_png(out)
    if (w, h) != (1400, 900):
        fail("screenshot is %dx%d, asked for 1400x900" % (w, h))
    print("screenshot: " + out)
    return raw


def check_screenshot(args):
    red, text, hues = pixel_stats(screenshot(args, "whole.png"))
    print("red pixels %d, text pixels %d, greenlet hues %d" % (red, text, hues))
    if red < 100:
        fail("the stall's red is missing (%d red pixels)" % red)
    if hues < 3:
        fail("fewer than 3 greenlet hues (%d)" % hues)
    if text < 500:
        fail("hardly any text drawn (%d pixels)" % text)


def check_select_longest_stall(args):
    red, text, _ = pixel_stats(screenshot(args, "stall.png", "--select", "longest-stall"))
    print("red pixels %d, text pixels %d" % (red, text))
    # Zoomed to the stall with margins: its box spans about half the width.
    if red < 5000:
        fail("the longest stall does not fill the view (%d red pixels)" % red)
    if text < 500:
        fail("hardly any text drawn (%d pixels)" % text)


def check_bad_input(args):
    missing = os.path.join(args.work, "no-such-file.gstrace")
    junk = os.path.join(args.work, "not-a-trace.gstrace")
    with open(junk, "w") as f:
        f.write("this is not a greenscope trace\n" * 10)
    with Xvfb() as x:
        for path in (missing, junk):
            out = os.path.join(args.work, "bad.png")
            r = subprocess.run([args.viewer, "--screenshot", out, path], env=x.env(), capture_output=True, text=True,
                               timeout=GIVE_UP * 2)
            print("%s: exit %d, stderr: %s" % (path, r.returncode, r.stderr.strip()))
            if r.returncode == 0 or r.returncode < 0:
                fail("%s: exit %d (want a failure exit, not 0 or a signal)" % (path, r.returncode))
            if path not in r.stderr:
                fail("%s: the message does not name the file: %r" % (path, r.stderr))
    r = subprocess.run([args.viewer, "--size", "bogus", missing], capture_output=True, text=True)
    if r.returncode != 2 or "--size" not in r.stderr:
        fail("a bad --size: exit %d, %r" % (r.returncode, r.stderr))


def check_damaged_trace(args):
    trace = os.path.join(args.work, "viewer.gstrace")
    cut = os.path.join(args.work, "cut.gstrace")
    with open(trace, "rb") as f:
        data = f.read()
    with open(cut, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    out = os.path.join(args.work, "cut.png")
    state = os.path.join(args.work, "cut-state.txt")
    with Xvfb() as x:
        r = subprocess.run([args.viewer, "--screenshot", out, "--dump-state-on-exit", state, cut], env=x.env(),
                           capture_output=True, text=True, timeout=GIVE_UP * 2)
    if r.returncode != 0:
        fail("a damaged trace: exit %d: %s" % (r.returncode, r.stderr))
    dump = read_state(state)
    if dump.get("processes") != "1":
        fail("the damaged trace's process is not shown: %r" % dump)
    print("cut trace shown: " + out)


def check_odd_names(args):
    trace = os.path.join(args.work, "odd.gstrace")
    out = os.path.join(args.work, "odd.png")
    state = os.path.join(args.work, "odd-state.txt")
    with Xvfb() as x:
        r = subprocess.run([args.viewer, "--screenshot", out, "--size", "1400x900", "--select", "longest-stall",
                            "--dump-state-on-exit", state, trace], env=x.env(), capture_output=True, timeout=GIVE_UP * 2)
    if r.returncode != 0:
        fail("odd names: exit %d: %r" % (r.returncode, r.stderr))
    _, _, raw = read_png(out)
    _, text, _ = pixel_stats(raw)
    if text < 500:
        fail("hardly any text drawn (%d pixels)" % text)
    with open(state, "rb") as f:
        data = f.read()
    details = [line for line in data.decode("utf-8").split("\n") if line.startswith("details=")]  # strict UTF-8
    print("%s, %d text pixels" % (details, text))
    if not details or "stall\ufffd[5m\ufffd" not in details[0] or "\x1b" in details[0]:
        fail("the stall's heading is not the culprit's name made valid: %r" % details)


def read_state(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


class Viewer:
    """Viewer is the viewer running as a user runs it, plus its state dumps."""

    def __init__(self, args, xvfb, name="interactive", extra=None):
        self.state = os.path.join(args.work, name + "-state.txt")
        for p in (self.state,):
            if os.path.exists(p):
                os.unlink(p)
        self.env = xvfb.env()
        if extra is None:
            extra = [os.path.join(args.work, "viewer.gstrace")]
        self.proc = subprocess.Popen([args.viewer, "--size", "1400x900", "--dump-state-on-exit", self.state, *extra],
                                     env=self.env)
        ids = subprocess.run(["xdotool", "search", "--sync", "--name", "greenscope-viewer"], env=self.env,
                             capture_output=True, text=True, timeout=GIVE_UP).stdout.split()
        if not ids:
            fail("the viewer's window never appeared")
        self.window = ids[0]

    def dump(self, predicate, what):
        """dump() asks for state dumps, one at a time, until one satisfies predicate."""
        deadline = time.monotonic() + GIVE_UP
        last = None
        while time.monotonic() < deadline:
            if os.path.exists(self.state):
                os.unlink(self.state)
            self.proc.send_signal(signal.SIGUSR1)
            wait_for("a state dump", lambda: self.proc.poll() is not None or os.path.exists(self.state))
            if self.proc.poll() is not None:
                fail("the viewer exited (%d) while waiting for %s" % (self.proc.returncode, what))
            last = read_state(self.state)
            if predicate(last):
                return last
        fail("gave up waiting for %s; last state dump: %r" % (what, last))

    def xdotool(self, *words):
        subprocess.run(["xdotool", *words], env=self.env, check=True, timeout=GIVE_UP)

    def move_to(self, rect):
        x0, y0, x1, y1 = map(float, rect.split())
        self.xdotool("mousemove", "--window", self.window, str(int((x0 + x1) / 2)), str(int((y0 + y1) / 2)))

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=GIVE_UP)


def check_interactive(args):
    with Xvfb() as x:
        v = Viewer(args, x)
        s = v.dump(lambda s: s.get("loaded") == "1" and "longest_stall_rect" in s, "the stall drawn")
        before = int(s["view_end_ns"]) - int(s["view_begin_ns"])
        v.move_to(s["longest_stall_rect"])
        v.xdotool("click", "--repeat", "2", "4")  # wheel up: zoom in at the cursor
        s = v.dump(lambda s: int(s["view_end_ns"]) - int(s["view_begin_ns"]) < before * 0.8
                   and "longest_stall_rect" in s, "the wheel to zoom in")
        print("zoomed from %d ns to %d ns shown" % (before, int(s["view_end_ns"]) - int(s["view_begin_ns"])))
        v.move_to(s["longest_stall_rect"])
        v.xdotool("click", "1")
        s = v.dump(lambda s: s.get("selection") != "none", "a selection")
        if s.get("selection") != "stall" or s.get("selection_index") != s.get("longest_stall"):
            fail("the click selected %s %s, not stall %s" % (s.get("selection"), s.get("selection_index"),
                                                              s.get("longest_stall")))
        if not s.get("details", "").startswith("Stall "):
            fail("the details panel does not describe the stall: %r" % s.get("details"))
        print("details: " + s["details"])
        shot = os.path.join(args.work, "interactive.png")
        subprocess.run(["import", "-window", "root", shot], env=x.env(), check=True, timeout=GIVE_UP)
        print("screen: " + shot)
        status = v.close()
    if status != 0:
        fail("the viewer exited %d on SIGTERM" % status)
    final = read_state(v.state)
    if final.get("selection") != "stall":
        fail("the exit dump lost the selection: %r" % final)


def loaded(s):
    return s.get("loaded") == "1" and s.get("reloading") == "0"


def screen(x, args, name):
    shot = os.path.join(args.work, name)
    subprocess.run(["import", "-window", "root", shot], env=x.env(), check=True, timeout=GIVE_UP)
    print("screen: " + shot)


def check_search(args):
    with Xvfb() as x:
        v = Viewer(args, x, "search")
        s = v.dump(lambda s: loaded(s) and "search_input_rect" in s, "the search panel")
        v.move_to(s["search_input_rect"])
        v.xdotool("click", "1")
        v.xdotool("type", "--delay", "20", "spin_without_yielding")
        s = v.dump(lambda s: s.get("search") == "spin_without_yielding" and "search_first_hit_rect" in s,
                   "the search's hits")
        print("%s hits, the first: %s" % (s["search_hits"], s.get("search_first")))
        if not s.get("search_first", "").startswith("stall ") or "spinner" not in s["search_first"]:
            fail("the first hit is not the spinner's stall: %r" % s.get("search_first"))
        v.move_to(s["search_first_hit_rect"])
        v.xdotool("click", "1")
        # The details panel draws before the search panel: wait for the frame after the click's.
        s = v.dump(lambda s: s.get("selection") != "none" and s.get("details"), "the hit selected")
        if s.get("selection") != "stall" or "spinner" not in s.get("details", ""):
            fail("the hit selected %s %s: %r" % (s.get("selection"), s.get("selection_index"), s.get("details")))
        print("details: " + s["details"])
        screen(x, args, "search.png")
        v.close()


def check_histogram(args):
    with Xvfb() as x:
        v = Viewer(args, x, "histogram")
        s = v.dump(loaded, "the trace loaded")
        v.close()
    total, in_bins = int(s["histogram_total"]), int(s["histogram_in_bins"])
    runs, greenlets = int(s["greenlet_runs"]), int(s["greenlets"])
    print("histogram total %d (%d in its bars), the greenlet summaries' runs %d" % (total, in_bins, runs))
    if total == 0 or in_bins != total:
        fail("the histogram's bars hold %d of its %d runs" % (in_bins, total))
    # The summaries count a run when a switch began it (or the trace did); a
    # Running span the trace cut in two (e.g. events lost) is one more span,
    # so the histogram holds at least as many, and not many more.
    if not runs <= total <= runs + greenlets:
        fail("the histogram counts %d runs, the greenlet summaries %d" % (total, runs))


def check_run_info_marker(args):
    with Xvfb() as x:
        v = Viewer(args, x, "runinfo")
        s = v.dump(lambda s: loaded(s) and "run_info_rect" in s, "the run-info marker drawn")
        if s.get("run_infos") != "1":
            fail("the trace maker made one run-info dump, the model has %r" % s.get("run_infos"))
        v.move_to(s["run_info_rect"])
        v.xdotool("click", "1")
        s = v.dump(lambda s: s.get("selection") != "none", "a selection")
        if s.get("selection") != "run-info" or not s.get("details", "").startswith("Run-info dump"):
            fail("the marker's click selected %s: %r" % (s.get("selection"), s.get("details")))
        print("details: " + s["details"])
        v.close()


def check_follow(args):
    trace = os.path.join(args.work, "viewer.gstrace")
    grow = os.path.join(args.work, "grow.gstrace")
    with open(trace, "rb") as f:
        data = f.read()
    first = len(data) // 3
    with open(grow, "wb") as f:
        f.write(data[:first])
    with Xvfb() as x:
        v = Viewer(args, x, "follow", ["--follow", grow])
        s = v.dump(lambda s: loaded(s) and int(s.get("spans", "0")) > 0, "the first part shown")
        before_spans, before_greenlets = int(s["spans"]), int(s["greenlets"])
        if s.get("follow") != "1" or s.get("follow_pinned") != "1":
            fail("--follow is not following: %r" % s)
        print("first part: %d spans, %d greenlets" % (before_spans, before_greenlets))
        with open(grow, "ab") as f:
            f.write(data[first:])
        s = v.dump(lambda s: loaded(s) and int(s.get("follow_offset", "0")) == len(data), "the rest read")
        print("whole: %s spans, %s greenlets, %s updates, %s re-reads, %s bytes read" %
              (s["spans"], s["greenlets"], s["follow_updates"], s["follow_reloads"], s["follow_offset"]))
        if int(s["spans"]) <= before_spans or int(s["greenlets"]) < before_greenlets:
            fail("the model did not grow with the file: %r" % s)
        # The growth was appended to the model, not read again from the start.
        if s["follow_reloads"] != "0" or int(s["follow_updates"]) < 1:
            fail("the followed file was read again rather than extended: %r" % s)
        if int(s["view_end_ns"]) < int(s["model_end_ns"]):
            fail("the pinned view does not show the newest events: %r" % s)
        screen(x, args, "follow.png")
        v.close()


def check_drop(args):
    trace = os.path.join(args.work, "viewer.gstrace")
    second = os.path.join(args.work, "dropped.gstrace")
    with open(trace, "rb") as f, open(second, "wb") as g:
        g.write(f.read())
    with Xvfb() as x:
        v = Viewer(args, x, "drop", ["--drop", second, trace])
        s = v.dump(lambda s: loaded(s) and s.get("processes") == "2", "the dropped file shown")
        if s.get("files") != "2" or s.get("load_errors") != "0":
            fail("after the drop: %r" % s)
        screen(x, args, "drop.png")
        v.close()


# SAMPLES: what each trace in traces/ must show (scripts/record-sample-traces.sh
# records them): the model's counts from the state dump, and the screenshot's
# red (a stall selected) and greenlet hues. A trace not listed must load.
SAMPLES = {
    "photo-pipeline.gstrace": {"stalls": True, "hues": 3},
    "downloader.gstrace": {"hues": 3},
    "echo-load.gstrace": {"hues": 3},
    "stall-zoo.gstrace": {"stalls": True, "hues": 3, "run_infos": True},
    "crash.gstrace": {"stalls": True, "crashes": True},
}


def sample_shot(args, x, name, tag, *extra):
    """sample_shot() screenshots traces/NAME; returns (state dump, red, text, hues, png path)."""
    out = os.path.join(args.work, "sample-%s%s.png" % (name.replace(".gstrace", ""), tag))
    state = os.path.join(args.work, "sample-%s%s-state.txt" % (name.replace(".gstrace", ""), tag))
    r = subprocess.run([args.viewer, "--screenshot", out, "--size", "1400x900", "--dump-state-on-exit", state,
                        *extra, os.path.join(args.traces, name)], env=x.env(), capture_output=True, text=True,
                       timeout=GIVE_UP * 2)
    if r.returncode != 0:
        fail("%s: exit %d: %s" % (name, r.returncode, r.stderr))
    red, text, hues = pixel_stats(read_png(out)[2])
    return read_state(state), red, text, hues, out


def check_sample_traces(args):
    names = sorted(n for n in os.listdir(args.traces) if n.endswith(".gstrace"))
    missing = [n for n in SAMPLES if n not in names]
    if missing:
        fail("traces/ lacks %s (run scripts/record-sample-traces.sh)" % ", ".join(missing))
    with Xvfb() as x:
        for name in names:
            want = SAMPLES.get(name, {})
            extra = ["--select", "longest-stall"] if want.get("stalls") else []
            s, red, text, hues, out = sample_shot(args, x, name, "", *extra)
            print("%s: %s spans, %s greenlets, %s stalls, %s crashes, %s run-info dumps; red %d, text %d, hues %d: %s"
                  % (name, s.get("spans"), s.get("greenlets"), s.get("stalls"), s.get("crashes"), s.get("run_infos"),
                     red, text, hues, out))
            if s.get("processes") != "1" or int(s.get("spans", "0")) == 0:
                fail("%s: nothing shown: %r" % (name, s))
            if text < 500:
                fail("%s: hardly any text drawn (%d pixels)" % (name, text))
            if want.get("stalls") and (int(s.get("stalls", "0")) == 0 or red < 5000):
                fail("%s: its longest stall is not shown in red (%s stalls, %d red pixels)"
                     % (name, s.get("stalls"), red))
            if want.get("crashes") and int(s.get("crashes", "0")) == 0:
                fail("%s: the crash is missing" % name)
            if want.get("run_infos") and int(s.get("run_infos", "0")) == 0:
                fail("%s: the run-info dump is missing" % name)
            if hues < want.get("hues", 0):
                # Zoomed out, a busy greenlet's runs fold into dimmed blocks:
                # its own colour shows on the spans of a narrow window.
                b, e = int(s["view_begin_ns"]), int(s["view_end_ns"])
                mid, half = (b + e) // 2, max((e - b) // 512, 50)
                _, _, _, hues, out = sample_shot(args, x, name, "-zoom", "--range", "%d:%d" % (mid - half, mid + half))
                print("%s: a %d ns window: hues %d: %s" % (name, 2 * half, hues, out))
                if hues < want["hues"]:
                    fail("%s: %d greenlet hues, want %d" % (name, hues, want["hues"]))


CHECKS = {
    "SampleTraces": check_sample_traces,
    "Search": check_search,
    "Histogram": check_histogram,
    "RunInfoMarker": check_run_info_marker,
    "Follow": check_follow,
    "Drop": check_drop,
    "Screenshot": check_screenshot,
    "SelectLongestStall": check_select_longest_stall,
    "BadInput": check_bad_input,
    "DamagedTrace": check_damaged_trace,
    "Interactive": check_interactive,
    "OddNames": check_odd_names,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--viewer", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--traces", help="traces/ (SampleTraces)")
    p.add_argument("check", choices=sorted(CHECKS))
    args = p.parse_args()
    CHECKS[args.check](args)
    print("PASS " + args.check)


if __name__ == "__main__":
    main()
