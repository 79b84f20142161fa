"""Rendering results for people and programs: record tables and files, replay reports."""
