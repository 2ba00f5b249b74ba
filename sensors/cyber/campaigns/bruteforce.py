"""``cyber_bruteforce``: SSH password guessing on the target (``brute_force``, T1110).

``rate_per_s`` connections per second, 1-3 guesses per connection, each a sshd ``Failed password`` line in
the target's syslog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.cyber.campaigns.base import Campaign, CampaignContext, CampaignParams
from sensors.cyber.flows import ephemeral_ports
from sensors.cyber.syslog import format_syslog
from sensors.cyber.topology import HOST_KINDS, SWITCH_KINDS
from sensors.cyber.traffic import LogLines, tcp_short

__all__ = ["BruteForce"]

_USERS = ("root", "admin", "user", "test", "ubuntu", "oracle", "pi", "support", "guest", "operator",
          "ftpuser", "postgres", "git", "nagios", "service")
_VALID_USERS = {"root", "admin"}


class BruteForce(Campaign):
    """SSH connections from ``src`` to the target, each a few failed logins."""

    kind = "cyber_bruteforce"
    phases = (("brute_force", "T1110"),)
    detected_by = frozenset({"brute_force"})

    @dataclass(frozen=True)
    class Params(CampaignParams):
        rate_per_s: float = field(default=1.0, metadata={"gt": 0, "doc": "connections per second"})
        users: tuple[str, ...] | None = field(default=None, metadata={
            "min_len": 1, "doc": "user names tried; default a common list"})

    @classmethod
    def target_problem(cls, net, target):
        kind = net.kind[target]
        return None if kind in HOST_KINDS + SWITCH_KINDS else f"{target!r} ({kind}) runs no sshd"

    def traffic(self, k: int, ctx: CampaignContext):
        net, rng = ctx.net, ctx.rng
        rate = self.params.rate_per_s
        n = max(1, int((self.end - self.start) * rate))
        t = self.start + np.arange(n) / rate + rng.uniform(0, 0.5 / rate, n)
        t = t[t < self.end]
        n = len(t)
        tries = rng.integers(1, 4, n)
        dur = 0.6 + 2.0 * tries + rng.uniform(0.0, 0.4, n)
        port = ephemeral_ports(rng, n)
        ob = 1300 + 520 * tries + rng.integers(0, 200, n)
        rb = 2100 + 310 * tries + rng.integers(0, 200, n)
        ft = tcp_short(rng, t, self.src_ip, net.ip[self.target], 22, "ssh", ob, rb, dur, orig_p=port,
                       attack=k, phase="brute_force")
        ft.cols["history"][:] = "ShAdDaFf"
        users = np.asarray(self.params.users if self.params.users is not None else _USERS, dtype=object)
        user = users[rng.integers(0, len(users), n)]
        pids = 20000 + np.cumsum(rng.integers(1, 9, n))
        logs = self._sshd_lines(ctx.epoch0, t, dur, user, pids, port, tries)
        return ft, logs, [("brute_force", self.start, self.end)]

    def _sshd_lines(self, epoch0: float, t, dur, user, pids, port, tries) -> LogLines:
        """The sshd lines each connection leaves in the target's syslog."""
        host, ip = str(self.target), self.src_ip
        logs = LogLines.empty()

        def log(tt: float, pid: int, msg: str, facility: str = "auth", severity: str = "info") -> None:
            logs.add(tt, host, format_syslog(epoch0 + tt, host, "sshd", pid, msg, facility=facility,
                                             severity=severity))

        for i in range(len(t)):
            t0, u, pid, pt, nt = float(t[i]), str(user[i]), int(pids[i]), int(port[i]), int(tries[i])
            valid = u in _VALID_USERS
            if not valid:
                log(t0 + 0.3, pid, f"Invalid user {u} from {ip} port {pt}")
            for j in range(nt):
                tj = t0 + 0.4 + 2.0 * j
                if valid:
                    log(tj, pid, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
                        f"ruser= rhost={ip}  user={u}", facility="authpriv", severity="notice")
                else:
                    log(tj, pid, "pam_unix(sshd:auth): check pass; user unknown", facility="authpriv",
                        severity="notice")
                who = u if valid else f"invalid user {u}"
                log(tj + 1.8, pid, f"Failed password for {who} from {ip} port {pt} ssh2")
            who = f"authenticating user {u}" if valid else f"invalid user {u}"
            log(float(t[i] + dur[i]), pid, f"Connection closed by {who} {ip} port {pt} [preauth]")
        return logs
