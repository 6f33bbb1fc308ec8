"""Problems are values: the planner decides on their address, people read one text."""

from __future__ import annotations

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem, problem_text
from provisioner.errors import Position

WEB = Address(Kind.GUEST, "web")


def test_a_field_problem_reads_address_path_summary_then_hint() -> None:
    problem = Problem("3000 is also guests.db's", WEB, "options.vmid", hint="pick another")
    located = problem.at(Position("stack.yaml", 9, 13))
    assert problem_text(located) == ("stack.yaml:9:13: guests.web: options.vmid 3000 is also "
                                      "guests.db's\n  hint: pick another")
    assert located == Problem("3000 is also guests.db's", WEB, "options.vmid",
                              hint="pick another", position=Position("stack.yaml", 9, 13))


def test_detail_lines_are_indented_under_the_summary() -> None:
    problem = Problem("forbids deleting it", WEB, detail="to allow it, ...")
    assert problem_text(problem) == "guests.web: forbids deleting it\n  to allow it, ..."


def test_a_stack_key_without_an_address_reads_like_the_loader_s_problems() -> None:
    problem = Problem("guests.web has no value 'ipp'", path="outputs.ips")
    assert problem_text(problem) == "outputs.ips: guests.web has no value 'ipp'"
