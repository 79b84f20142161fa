"""The keys of `nsim tui` and `nsim teach`: each binding's short name (the footer) and what
it does (the tooltip, which `?` lists)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

KEYS: list[BindingType] = [
    Binding("j,down", "step(1)", "step", key_display="j ↓", tooltip="step forward one record"),
    Binding("k,up", "step(-1)", "back", key_display="k ↑",
            tooltip="step back one record (the panes show the model exactly at that record)"),
    Binding("pagedown", "page(1)", "page", show=False, tooltip="page forward"),
    Binding("pageup", "page(-1)", "page back", show=False, tooltip="page back"),
    Binding("home,g", "home", "first", show=False, tooltip="first record"),
    Binding("end,G", "end", "last", show=False, tooltip="last record"),
    Binding("enter", "open_record", "record", key_display="⏎",
            tooltip="the record under the cursor whole: every line of its message, the "
                    "whole traceback, its event (^W wraps, Esc closes)"),
    Binding("ctrl+w", "wrap", "wrap", show=False,
            tooltip="wrap long records (every line of the message) or cut them to one row"),
    Binding("left,h", "arrow(-1)", "left", show=False, key_display="← h",
            tooltip="scroll the log left (nsim teach: previous lesson step)"),
    Binding("right,l", "arrow(1)", "right", show=False, key_display="→ l",
            tooltip="scroll the log right (nsim teach: next lesson step)"),
    Binding("less_than_sign", "pan(-1)", "pan left", show=False,
            tooltip="scroll the log left"),
    Binding("greater_than_sign", "pan(1)", "pan right", show=False,
            tooltip="scroll the log right"),
    Binding("slash", "search", "search", key_display="/",
            tooltip="search: a regular expression, case-insensitive unless it has a capital; "
                    "hits are highlighted"),
    Binding("n", "search_again(True)", "next match", show=False,
            tooltip="next match (from the top after the last)"),
    Binding("N", "search_again(False)", "previous match", show=False,
            tooltip="previous match (from the bottom before the first)"),
    Binding("f", "filter", "filter",
            tooltip="add a filter: [!]KIND VALUE, KIND text (a regex), level (at least it; "
                    "! hides just it), logger, instance, request; without KIND: req-… a "
                    "request, an instance prefix, else a regex; ! hides what matches"),
    Binding("x", "filters", "filters", show=False,
            tooltip="the filters in force: remove one"),
    Binding("I", "filter_here('instance')", "this instance", show=False,
            tooltip="filter by this record's instance (again: remove)"),
    Binding("r", "filter_here('request')", "this request", show=False,
            tooltip="filter by this record's request (again: remove)"),
    Binding("escape", "clear_filters", "all records", show=False,
            tooltip="remove every filter"),
    Binding("e", "problem(True)", "next problem", show=False,
            tooltip="next violation or ERROR"),
    Binding("E", "problem(False)", "previous problem", show=False,
            tooltip="previous violation or ERROR"),
    Binding("m", "mark", "mark", show=False, tooltip="mark / unmark this record (▌)"),
    Binding("u", "next_mark(True)", "next mark", show=False, tooltip="next mark"),
    Binding("U", "next_mark(False)", "previous mark", show=False, tooltip="previous mark"),
    Binding("F", "follow", "follow", show=False,
            tooltip="follow: read what is appended to the files (as tail -f); at the last "
                    "record, stay at the last"),
    Binding("i", "histogram", "histogram", show=False,
            tooltip="records and errors over time; Enter on a row goes there"),
    Binding("t", "go_to_time", "time", show=False,
            tooltip="go to a time (HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS])"),
    Binding("space", "play", "play", show=False, tooltip="play / pause"),
    Binding("plus,equals_sign", "speed(1)", "faster", show=False, key_display="+",
            tooltip="play faster: one record per tick, or the log's own time x1 to x100 "
                    "(long quiet gaps are cut short)"),
    Binding("minus", "speed(-1)", "slower", show=False, key_display="-",
            tooltip="play slower"),
    Binding("p", "panel", "panes", tooltip="on a small terminal (under 110x32): show the "
            "instance, host and cache beside the log, then the event and violations, then "
            "the log alone"),
    Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
    Binding("q", "quit", "quit", tooltip="quit"),
]
