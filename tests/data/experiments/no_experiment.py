"""A Python file that defines no experiment."""
VALUE = 1
