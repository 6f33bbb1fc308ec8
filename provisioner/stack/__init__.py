"""Stack files: reading YAML with positions, the models, variables, resolution.

``load_stack`` is the entry point; it returns a ``Stack`` or raises one
``StackError`` listing every problem found, each with file:line:col.
"""
