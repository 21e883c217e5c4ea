# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry: one line per concern.

Each concern is a package under plugins/module_utils holding its host-side
collector (``collect``: Python standard library only) and its controller-side
model, rules, fleet rules and planner. This file is host-side, so it imports
only the collectors: the gather module, the queue fact and the controller all
start here (the controller's registry imports each concern's ``rules``
module by the same names). Adding a concern is one line in CONCERNS.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as backlog
from ansible_collections.acceptq.remediation.plugins.module_utils.core import evidence
from ansible_collections.acceptq.remediation.plugins.module_utils.flock import collect as flock
from ansible_collections.acceptq.remediation.plugins.module_utils.host import collect as host
from ansible_collections.acceptq.remediation.plugins.module_utils.kernel import collect as kernel
from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import collect as logrotate
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import collect as nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.rot import collect as rot

# (concern name, its host-side collector module): the package of the same name.
CONCERNS = (
    ("host", host),
    ("kernel", kernel),
    ("rot", rot),
    ("nginx", nginx),
    ("backlog", backlog),
    ("flock", flock),
    ("logrotate", logrotate),
)

SECTIONS = dict((section.name, section) for _name, module in CONCERNS for section in module.SECTIONS)
if len(SECTIONS) != sum(len(module.SECTIONS) for _name, module in CONCERNS):
    raise ValueError("two concerns declare the same evidence section")
RUN_ORDER = evidence.run_order(SECTIONS.values())


def collect(sections=None, proc_root="/proc", counter_sample_interval=1.0, hints=None, before_waiting=None):
    """Every requested section of every concern: the one gathering call per host."""
    return evidence.collect(SECTIONS, sections, proc_root, counter_sample_interval, hints, before_waiting)
