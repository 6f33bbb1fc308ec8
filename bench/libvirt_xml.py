"""The libvirt XML of the side-by-side guests, shared by Ansible's playbook (as Jinja
templates, ``name="{{ item }}"``) and the bare-libvirt floor (filled in)."""

from __future__ import annotations

import textwrap

from bench.stacks import TinyGuests


def network_xml(guests: TinyGuests) -> str:
    gateway = guests.cidr.rsplit(".", 1)[0]
    return (f"<network><name>{guests.network}</name><forward mode='nat'/>"
            f"<ip address='{gateway}.1' netmask='255.255.255.0'><dhcp>"
            f"<range start='{gateway}.2' end='{gateway}.254'/></dhcp></ip></network>\n")


def volume_xml(guests: TinyGuests, name: str) -> str:
    return (f"<volume><name>{name}.qcow2</name>"
            f"<capacity unit='MiB'>{guests.disk_mib}</capacity>"
            "<target><format type='qcow2'/></target></volume>")


def guest_xml(guests: TinyGuests, name: str) -> str:
    return textwrap.dedent(f"""\
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>{guests.memory_mib}</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
          <features><acpi/><apic/></features>
          <devices>
            <disk type='volume' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source pool='default' volume='{name}.qcow2'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <interface type='network'>
              <source network='{guests.network}'/><model type='virtio'/>
            </interface>
            <serial type='pty'><target port='0'/></serial>
            <console type='pty'><target type='serial' port='0'/></console>
          </devices>
        </domain>
        """)
