#!/bin/sh
# Ansible dynamic inventory: ansible-playbook -i inventory.sh site.yml
exec provisioner inventory "$(dirname "$0")" "$@"
