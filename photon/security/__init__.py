"""Security: authentication and ACL users, protected mode, cluster peers and cross-protocol
detection; the node's ``security``. The ACL and AUTH commands are in ``commands``.

The command hot path never comes here: a client whose user may run everything (the default
user, unless an ACL restricts it) has ``c.acl = None`` and the gate's fast path stays as it
was. Only clients of restricted users (``c.acl`` is their User) are checked per command.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photon.errors import ConfigError, RedisError
from photon.peer.handshake import peer_mac
from photon.security import acl as aclmod
from photon.security.acl import AclError, User, Users

if TYPE_CHECKING:
    from photon.commands.table import Command
    from photon.node import Node

    Client = Any

log = logging.getLogger("photon.security")

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
NOPERM_CMD = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = ("NOPERM this user has no permissions to access one of the channels used as "
                  "arguments")
DENIED = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    "If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Setup a an authentication password for the default "
    "user. NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.")
SECURITY_ATTACK = (
    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
    "commands to Redis. This is likely due to an attacker attempting to use Cross Protocol "
    "Scripting to compromise your Redis instance. Connection aborted.")
PEER_WINDOW = 300.0  # seconds a PHOTON.AUTH proof stays valid (and its nonce remembered)


def _is_local(addr: str) -> bool:
    """connIsLocal: a loopback peer (or a socket without an address, as unix sockets)."""
    host = addr.rsplit(":", 1)[0] if ":" in addr else addr
    if not host or host == "?":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True  # unix socket path
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped is not None and mapped.is_loopback)


class Security:
    def __init__(self, server: "Node") -> None:
        self.server = server
        config = server.config
        path = Path(config.aclfile) if config.aclfile else Path(config.data_dir) / "users.acl"
        self.users = Users(path)
        self.universe = aclmod.universe()
        if path.exists():
            try:
                self.users.load()
            except AclError as e:
                raise ConfigError(f"invalid ACL file {path}: {e}") from None
            log.info("Loaded %d ACL users from %s", len(self.users.users), path)
        if config.source("requirepass") != "default":
            self._update_default_password(config.requirepass)
        self.nonces: dict[str, float] = {}
        # With a cluster secret, internal commands need a PHOTON.AUTH proof first.
        self.peers_only = bool(config.cluster_secret)
        if not self.peers_only and config.role != "standalone":
            log.warning("No --cluster-secret: internal links (replication, forwarding) are "
                        "not authenticated beyond the password")
        self._attack_logged = 0.0
        self.attacks = 0  # cross-protocol connections closed
        self.tls_context: Any = None
        if config.tls_port:
            from photon.peer import tls

            self.tls_context = tls.server_context(config)

    # --- users and authentication ----------------------------------------------------------

    def auth_required(self) -> bool:
        default = self.users.default
        return not (default.nopass and default.enabled)

    def guard(self, user: User | None) -> User | None:
        """What a client of this user keeps in ``c.acl``: None when nothing is restricted."""
        if user is None or user.unrestricted():
            return None
        return user

    def set_default_auth(self, c: "Client") -> None:
        """clientSetDefaultAuth: a new or RESET connection is the default user, authenticated
        when that user needs no password."""
        default = self.users.default
        c.user = b"default"
        c.authenticated = default.nopass and default.enabled
        c.parser.auth_required = not c.authenticated
        c.acl = self.guard(default)

    def check_password(self, user: bytes, password: bytes) -> str | None:
        u = self.users.get(user)
        if u is None or not u.check_password(password):
            return WRONGPASS
        return None

    def authenticate(self, c: "Client", user: bytes, password: bytes, command: bytes) -> None:
        """AUTH / HELLO AUTH: log the client in or raise WRONGPASS (and log it, as Redis)."""
        u = self.users.get(user)
        if u is None or not u.check_password(password):
            self.users.add_log(aclmod.DENIED_AUTH, self._context(c), command, user,
                               c.describe())
            raise RedisError(WRONGPASS)
        c.authenticated = True
        c.parser.auth_required = False
        c.user = user
        c.acl = self.guard(u)

    def _context(self, c: "Client") -> str:
        return "multi" if c.multi is not None else "toplevel"

    # --- the per-command check (restricted users only) -------------------------------------

    def check(self, c: "Client", cmd: "Command", argv: list[bytes]) -> str | None:
        user: User = c.acl  # type: ignore[assignment]
        acmd = self.universe.by_name.get(cmd.name)
        if acmd is None:  # a command added after start-up: only unrestricted users run it
            verdict, idx = aclmod.DENIED_CMD, 0
        else:
            verdict, idx = user.check(acmd, argv)
        if verdict == aclmod.OK:
            return None
        c.last_cmd = cmd
        if verdict == aclmod.DENIED_CMD:
            obj = cmd.name.encode()
            message = NOPERM_CMD % cmd.name
        else:
            obj = argv[idx]
            message = NOPERM_KEY if verdict == aclmod.DENIED_KEY else NOPERM_CHANNEL
        self.users.add_log(verdict, self._context(c), obj, c.user, c.describe())
        return message

    def exec_denial(self, c: "Client", cmd: "Command", argv: list[bytes]) -> str | None:
        """EXEC checks queued commands again (the user's rules may have changed since they
        were queued): Redis's NOPERM text for one no longer allowed, else None."""
        user: User | None = c.acl
        if user is None:
            return None
        acmd = self.universe.by_name.get(cmd.name)
        verdict, idx = (aclmod.DENIED_CMD, 0) if acmd is None else user.check(acmd, argv)
        if verdict == aclmod.OK:
            return None
        reason = {aclmod.DENIED_CMD: "no permission to execute the command or subcommand",
                  aclmod.DENIED_KEY: "no permission to touch the specified keys"}.get(
            verdict, "no permission to access one of the channels used as arguments")
        obj = cmd.name.encode() if verdict == aclmod.DENIED_CMD else argv[idx]
        self.users.add_log(verdict, "multi", obj, c.user, c.describe())
        return ("NOPERM ACLs rules changed between the moment the transaction was accumulated "
                "and the EXEC call. This command is no longer allowed for the following "
                "reason: " + reason)

    def may_read_all_keys(self, c: "Client") -> bool:
        """ACLUserCheckKeyPerm(user, "*", is_pattern, CMD_KEY_ACCESS): SORT's BY and GET."""
        user = self.users.get(c.user)
        if user is None:
            return True
        return any(sel.allkeys or sel._key_ok(b"*", aclmod.READ) for sel in user.selectors)

    def dryrun(self, name: bytes, full_name: str, argv: list[bytes]) -> str | None:
        """ACL DRYRUN's verdict text, or None when the user may run the command."""
        user: User = self.users.get(name)  # type: ignore[assignment]
        acmd = self.universe.by_name.get(full_name)
        if acmd is None:
            return "This user has no permissions to run the '%s' command" % full_name
        verdict, idx = user.check(acmd, argv)
        if verdict == aclmod.OK:
            return None
        if verdict == aclmod.DENIED_CMD:
            return "This user has no permissions to run the '%s' command" % full_name
        what = "key" if verdict == aclmod.DENIED_KEY else "channel"
        return "This user has no permissions to access the '%s' %s" % (
            argv[idx].decode("utf-8", "surrogateescape"), what)

    # --- changes to users ------------------------------------------------------------------

    def setuser(self, name: bytes, rules: list[bytes]) -> None:
        old, new = self.users.setuser(name, rules)
        if old is not None:
            self._kill_pubsub_if_needed(old, new)
        self.refresh_clients(name)
        self.save_quietly()

    def deluser(self, names: list[bytes]) -> int:
        deleted = 0
        for name in names:
            if self.users.deluser(name) is not None:
                deleted += 1
                for c in list(self.server.clients.values()):
                    if c.user == name:
                        c.close()
        if deleted:
            self.save_quietly()
        return deleted

    def refresh_clients(self, name: bytes | None = None) -> None:
        """Point connected clients at their user's current rules (after SETUSER, LOAD,
        CONFIG SET requirepass); clients of users that no longer exist are closed."""
        for c in list(self.server.clients.values()):
            if name is not None and c.user != name:
                continue
            u = self.users.get(c.user)
            if u is None:
                c.close()
            else:
                c.acl = self.guard(u)

    def load(self) -> None:
        self.users.load()
        self.refresh_clients()

    def save_quietly(self) -> bool:
        try:
            self.users.save()
            return True
        except OSError as e:
            log.warning("Cannot write the ACL file %s: %s", self.users.path, e)
            return False

    def _kill_pubsub_if_needed(self, old: User, new: User) -> None:
        """ACLKillPubsubClientsIfNeeded: subscribers whose channels the new rules no longer
        allow are disconnected."""
        if any(s.allchannels for s in new.selectors):
            return
        upcoming = [ch for s in new.selectors for ch in s.channels]
        if all(ch in upcoming for s in old.selectors for ch in s.channels) and not any(
                s.allchannels for s in old.selectors):
            return
        for c in list(self.server.clients.values()):
            if c.user != old.name or not c.subscribed:
                continue
            subs = c.extra.get("pubsub")
            if subs is None:
                continue
            bad = any(not aclmod.channel_allowed(upcoming, p, True) for p in subs.patterns)
            bad = bad or any(not aclmod.channel_allowed(upcoming, ch, False)
                             for ch in list(subs.channels) + list(subs.shards))
            if bad:
                c.abort()

    def _update_default_password(self, password: str) -> None:
        """ACLUpdateDefaultUserPassword: requirepass sets the default user's only password;
        an empty one makes it nopass."""
        default = self.users.default
        default.apply(b"resetpass")
        if password:
            default.apply(b">" + password.encode("utf-8", "surrogateescape"))
        else:
            default.apply(b"nopass")

    def set_requirepass(self, password: str) -> None:
        """CONFIG SET requirepass: connected clients stay authenticated, as in Redis."""
        self._update_default_password(password)
        self.refresh_clients(b"default")
        self.save_quietly()

    # --- connections -----------------------------------------------------------------------

    def refusal(self, c: "Client") -> str | None:
        """Protected mode: with no password on the default user, only loopback clients."""
        if not self.server.config.protected_mode:
            return None
        if not self.users.default.nopass:
            return None
        if _is_local(c.addr):
            return None
        return DENIED

    def cross_protocol(self, c: "Client") -> None:
        """A 'POST' or 'Host:' request: an HTTP client (or a web page) talking to the RESP
        port. Close at once, without a reply, and log (at most once a minute), as Redis."""
        now = time.monotonic()
        if now - self._attack_logged > 60 or not self._attack_logged:
            self._attack_logged = now
            log.warning(SECURITY_ATTACK)
        self.attacks += 1
        c.abort()

    # --- cluster peers ---------------------------------------------------------------------

    def peer_auth(self, c: "Client", node_id: bytes, ts: bytes, nonce: bytes,
                  mac: bytes) -> None:
        """PHOTON.AUTH: a node proves it knows the cluster secret (an HMAC over a fresh
        timestamp and a nonce never seen before); without a configured secret every node is
        accepted."""
        secret = self.server.config.cluster_secret
        if secret:
            now = time.time()
            try:
                when = int(ts) / 1000
            except ValueError:
                when = 0.0
            for n, seen in list(self.nonces.items()):
                if now - seen > 2 * PEER_WINDOW:
                    del self.nonces[n]
            key = nonce.decode("ascii", "replace")
            expected = peer_mac(secret.encode(), node_id, ts, nonce)
            if (abs(now - when) > PEER_WINDOW or key in self.nonces or len(nonce) < 16
                    or not hmac.compare_digest(expected, mac.decode("ascii", "replace"))):
                log.warning("Refused cluster peer %s (node %s): wrong cluster secret proof%s",
                            c.addr, node_id.decode("utf-8", "replace"),
                            " (its clock is %.0fs off)" % (now - when)
                            if abs(now - when) > PEER_WINDOW else "")
                raise RedisError("ERR cluster secret proof rejected")
            self.nonces[key] = now
        c.peer = True

