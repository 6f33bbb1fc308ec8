"""Getting into guests once they run: who they are, where, and as whom.

``hosts`` gathers, for each guest of a stack, what logging in needs (address,
port, user, key) from the stack and the state's records, with no hypervisor
call; ``inventory`` writes them as an Ansible inventory, ``ssh_config`` as
OpenSSH ``Host`` blocks. The ``inventory``, ``ssh-config`` and ``ssh`` commands
(``cli/access.py``) print them or log in.
"""
