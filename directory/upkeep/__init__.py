"""Keeping the directory true: editing, suggestions and review, verification, reminders, duplicates."""
