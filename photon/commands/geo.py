"""Geo commands (Redis 7.0's geo.c, geohash.c and geohash_helper.c) over sorted sets.

A place is a sorted-set member whose score is its 52-bit interleaved geohash (26 steps of
longitude and latitude, latitude limited to the Web Mercator range). Searches walk the
geohash box of the centre and its eight neighbours at a step chosen from the radius, in
Redis's order, so unsorted replies list places in the same order as Redis; distances use
Redis's haversine with its earth radius, and every float is computed in the same order of
operations so the replies match byte for byte.
"""
from __future__ import annotations

import math

from photon.commands import zsets
from photon.commands.table import command
from photon.errors import RedisError, syntax
from photon.keyspace.encoding import ZSET, encode_score
from photon.keyspace.keyspace import Collection
from photon.protocol.reply import NULL_ARRAY, Raw
from photon.util.numbers import parse_int

STEP_MAX = 26
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LONG_MIN, LONG_MAX = -180.0, 180.0
D_R = math.pi / 180.0
EARTH_RADIUS = 6372797.560856
MERCATOR_MAX = 20037726.37
_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"
_M64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}

_NOT_FLOAT = "ERR value is not a valid float"


# --- geohash ------------------------------------------------------------------------------

def _spread(v: int) -> int:
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def _squash(v: int) -> int:
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    v = (v | (v >> 16)) & 0x00000000FFFFFFFF
    return v


def encode(lon: float, lat: float, step: int, lon_range=(LONG_MIN, LONG_MAX),
           lat_range=(LAT_MIN, LAT_MAX)) -> int | None:
    """geohashEncode: the interleaved bits (latitude in the even bits), None out of range."""
    if lon > 180 or lon < -180 or lat > LAT_MAX or lat < LAT_MIN:
        return None
    if (lat < lat_range[0] or lat > lat_range[1] or lon < lon_range[0]
            or lon > lon_range[1]):
        return None
    lat_offset = (lat - lat_range[0]) / (lat_range[1] - lat_range[0])
    lon_offset = (lon - lon_range[0]) / (lon_range[1] - lon_range[0])
    lat_offset *= float(1 << step)
    lon_offset *= float(1 << step)
    return _spread(int(lat_offset)) | (_spread(int(lon_offset)) << 1)


def decode_area(bits: int, step: int) -> tuple[float, float, float, float]:
    """geohashDecode: (lon_min, lon_max, lat_min, lat_max) of a box."""
    ilat = _squash(bits)
    ilon = _squash(bits >> 1)
    lat_scale = LAT_MAX - LAT_MIN
    lon_scale = LONG_MAX - LONG_MIN
    div = float(1 << step)
    return (LONG_MIN + (ilon * 1.0 / div) * lon_scale,
            LONG_MIN + ((ilon + 1) * 1.0 / div) * lon_scale,
            LAT_MIN + (ilat * 1.0 / div) * lat_scale,
            LAT_MIN + ((ilat + 1) * 1.0 / div) * lat_scale)


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: the centre of the 52-bit box a score names (clamped)."""
    bits = int(score) & _M64 if math.isfinite(score) else 0
    lon_min, lon_max, lat_min, lat_max = decode_area(bits, STEP_MAX)
    lon = (lon_min + lon_max) / 2
    lon = min(max(lon, LONG_MIN), LONG_MAX)
    lat = (lat_min + lat_max) / 2
    lat = min(max(lat, LAT_MIN), LAT_MAX)
    return lon, lat


def _move_x(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = x + (zz + 1)
    else:
        x = (x | zz) - (zz + 1)
    x &= _ODD >> (64 - step * 2)
    return (x | y) & _M64


def _move_y(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = y + (zz + 1)
    else:
        y = (y | zz) - (zz + 1)
    y &= _EVEN >> (64 - step * 2)
    return (x | y) & _M64


def _neighbour(bits: int, step: int, dx: int, dy: int) -> int:
    if dx:
        bits = _move_x(bits, step, dx)
    if dy:
        bits = _move_y(bits, step, dy)
    return bits


# --- distances ----------------------------------------------------------------------------

def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(lat2 * D_R - lat1 * D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: haversine, with Redis 7.0's shortcut for equal longitudes."""
    lon1r = lon1 * D_R
    lon2r = lon2 * D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * D_R
    lat2r = lat2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


class Shape:
    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion", "box")

    def __init__(self) -> None:
        self.lon = self.lat = 0.0
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0
        self.box = False

    def within(self, score: float) -> tuple[float, float, float] | None:
        """geoWithinShape: (lon, lat, distance) of a place inside the shape, else None."""
        lon, lat = decode_score(score)
        if self.box:
            if lat_distance(lat, self.lat) > self.height * self.conversion / 2:
                return None
            if distance(lon, lat, self.lon, lat) > self.width * self.conversion / 2:
                return None
        d = distance(self.lon, self.lat, lon, lat)
        if not self.box and d > self.radius * self.conversion:
            return None
        return lon, lat, d


def _estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _search_boxes(shape: Shape) -> list[tuple[int, int]]:
    """geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors' order: the (bits, step)
    boxes to scan, centre first, zeroed neighbours left out."""
    lon, lat = shape.lon, shape.lat
    if shape.box:
        height = shape.conversion * (shape.height / 2)
        width = shape.conversion * (shape.width / 2)
    else:
        height = width = shape.conversion * shape.radius
    lat_delta = (height / EARTH_RADIUS) / D_R
    long_delta_top = (width / EARTH_RADIUS / math.cos((lat + lat_delta) * D_R)) / D_R
    long_delta_bottom = (width / EARTH_RADIUS / math.cos((lat - lat_delta) * D_R)) / D_R
    south = lat < 0
    min_lon = lon - long_delta_bottom if south else lon - long_delta_top
    max_lon = lon + long_delta_bottom if south else lon + long_delta_top
    min_lat = lat - lat_delta
    max_lat = lat + lat_delta

    if shape.box:
        radius = math.sqrt((shape.width / 2) * (shape.width / 2)
                           + (shape.height / 2) * (shape.height / 2))
    else:
        radius = shape.radius
    radius *= shape.conversion
    steps = _estimate_steps(radius, lat)

    def around(step: int):
        bits = encode(lon, lat, step) or 0
        nb = {name: _neighbour(bits, step, dx, dy) for name, dx, dy in (
            ("north", 0, 1), ("south", 0, -1), ("east", 1, 0), ("west", -1, 0),
            ("north_east", 1, 1), ("north_west", -1, 1), ("south_east", 1, -1),
            ("south_west", -1, -1))}
        return bits, nb

    bits, nb = around(steps)
    north = decode_area(nb["north"], steps)
    south_a = decode_area(nb["south"], steps)
    east = decode_area(nb["east"], steps)
    west = decode_area(nb["west"], steps)
    decrease = (north[3] < max_lat or south_a[2] > min_lat or east[1] < max_lon
                or west[0] > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        bits, nb = around(steps)
    area = decode_area(bits, steps)
    zeroed: set[str] = set()
    if steps >= 2:
        if area[2] < min_lat:
            zeroed |= {"south", "south_west", "south_east"}
        if area[3] > max_lat:
            zeroed |= {"north", "north_east", "north_west"}
        if area[0] < min_lon:
            zeroed |= {"west", "south_west", "north_west"}
        if area[1] > max_lon:
            zeroed |= {"east", "south_east", "north_east"}
    boxes = [(bits, steps)]
    for name in ("north", "south", "east", "west", "north_east", "north_west", "south_east",
                 "south_west"):
        boxes.append((0, 0) if name in zeroed else (nb[name], steps))
    return boxes


def _members_in_shape(coll: Collection, shape: Shape, limit: int) -> list[tuple]:
    """membersOfAllNeighbors: (member, score, lon, lat, distance) in Redis's scan order."""
    found: list[tuple] = []
    last = None
    for i, (bits, step) in enumerate(_search_boxes(shape)):
        if bits == 0 and step == 0:
            continue
        if last is not None and (bits, step) == last:
            continue
        if found and limit and len(found) >= limit:
            break
        lo = bits << (52 - step * 2)
        hi = (bits + 1) << (52 - step * 2)
        for suffix in coll.zitems(encode_score(float(lo)), encode_score(float(hi))):
            score = zsets.decode_score(suffix)
            hit = shape.within(score)
            if hit is not None:
                found.append((suffix[8:], score) + hit)
                if limit and len(found) >= limit:
                    break
        last = (bits, step)
    return found


# --- argument parsing ---------------------------------------------------------------------

def _double(arg: bytes, error: str = _NOT_FLOAT) -> float:
    return zsets.parse_score(arg, error)


def _lon_lat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon = _double(lon_arg)
    lat = _double(lat_arg)
    if lon < LONG_MIN or lon > LONG_MAX or lat < LAT_MIN or lat > LAT_MAX:
        raise RedisError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def _unit(arg: bytes) -> float:
    conversion = _UNITS.get(arg.lower())
    if conversion is None:
        raise RedisError("ERR unsupported unit provided. please use M, KM, FT, MI")
    return conversion


def _radius(shape: Shape, value: bytes, unit: bytes) -> None:
    r = _double(value, "ERR need numeric radius")
    if r < 0:
        raise RedisError("ERR radius cannot be negative")
    shape.radius = r
    shape.conversion = _unit(unit)


def _box(shape: Shape, width: bytes, height: bytes, unit: bytes) -> None:
    w = _double(width, "ERR need numeric width")
    h = _double(height, "ERR need numeric height")
    if h < 0 or w < 0:
        raise RedisError("ERR height or width cannot be negative")
    shape.width, shape.height = w, h
    shape.conversion = _unit(unit)


def _member_position(coll: Collection, member: bytes) -> tuple[float, float]:
    score = zsets._score(coll, member)
    if score is None:
        raise RedisError("ERR could not decode requested zset member")
    return decode_score(score)


# --- replies ------------------------------------------------------------------------------

def _human(c, v: float) -> bytes | Raw:
    """addReplyHumanLongDouble: %.17Lf without trailing zeros; a double in RESP3."""
    from fractions import Fraction

    from photon.util.numbers import format_long_double

    text = format_long_double(Fraction(v))
    return Raw(b"," + text + b"\r\n") if c.resp3 else text


def _dist(d: float) -> bytes:
    return b"%.4f" % d


# --- commands -----------------------------------------------------------------------------

@command("geoadd", -5, "write denyoom", 1, 1, 1)
def geoadd(c, argv):
    xx = nx = False
    longidx = 2
    while longidx < len(argv):
        opt = argv[longidx].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        longidx += 1
    if (len(argv) - longidx) % 3 or (xx and nx):
        raise syntax()
    zargv = [b"zadd"] + argv[1:longidx]
    for i in range(longidx, len(argv), 3):
        lon, lat = _lon_lat(argv[i], argv[i + 1])
        bits = encode(lon, lat, STEP_MAX)
        zargv += [b"%d" % bits, argv[i + 2]]
    return zsets._zadd(c, zargv, False)


def _open(c, key: bytes) -> Collection | None:
    return Collection.open(c.server.keyspace, c.db, key, ZSET)


@command("geohash", -2, "readonly", 1, 1, 1)
def geohash(c, argv):
    coll = _open(c, argv[1])
    out: list = []
    for member in argv[2:]:
        score = zsets._score(coll, member) if coll is not None else None
        if score is None:
            out.append(None)
            continue
        lon, lat = decode_score(score)
        bits = encode(lon, lat, STEP_MAX, (-180.0, 180.0), (-90.0, 90.0)) or 0
        buf = bytearray()
        for i in range(11):
            idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
            buf.append(_ALPHABET[idx])
        out.append(bytes(buf))
    return out


@command("geopos", -2, "readonly", 1, 1, 1)
def geopos(c, argv):
    coll = _open(c, argv[1])
    out: list = []
    for member in argv[2:]:
        score = zsets._score(coll, member) if coll is not None else None
        if score is None:
            out.append(NULL_ARRAY)
            continue
        lon, lat = decode_score(score)
        out.append([_human(c, lon), _human(c, lat)])
    return out


@command("geodist", -4, "readonly", 1, 1, 1)
def geodist(c, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise syntax()
    coll = _open(c, argv[1])
    if coll is None:
        return None
    s1 = zsets._score(coll, argv[2])
    s2 = zsets._score(coll, argv[3])
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = decode_score(s1)
    lon2, lat2 = decode_score(s2)
    return _dist(distance(lon1, lat1, lon2, lat2) / to_meter)


RADIUS_COORDS, RADIUS_MEMBER, RADIUS_NOSTORE, GEOSEARCH, GEOSEARCHSTORE = 1, 2, 4, 8, 16


def _search(c, argv: list[bytes], src: int, flags: int):
    """georadiusGeneric."""
    ks = c.server.keyspace
    coll = _open(c, argv[src])
    storekey: bytes | None = None
    storedist = False
    shape = Shape()
    if flags & RADIUS_COORDS:
        base = 6
        shape.lon, shape.lat = _lon_lat(argv[2], argv[3])
        _radius(shape, argv[4], argv[5])
    elif flags & RADIUS_MEMBER:
        base = 5
        if coll is not None:
            shape.lon, shape.lat = _member_position(coll, argv[2])
            _radius(shape, argv[3], argv[4])
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoords = anyopt = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 1 ascending, -1 descending
    count = 0
    i = base
    n = len(argv)
    while i < n:
        remaining = n - i - 1
        arg = argv[i].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            anyopt = True
        elif arg == b"asc":
            sort = 1
        elif arg == b"desc":
            sort = -1
        elif arg == b"count" and remaining >= 1:
            count = parse_int(argv[i + 1])
            if count <= 0:
                raise RedisError("ERR COUNT must be > 0")
            i += 1
        elif (flags & (RADIUS_COORDS | RADIUS_MEMBER) and not flags & RADIUS_NOSTORE
              and arg in (b"store", b"storedist") and remaining >= 1):
            storekey = argv[i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif flags & GEOSEARCHSTORE and arg == b"storedist":
            storedist = True
        elif flags & GEOSEARCH and arg == b"frommember" and remaining >= 1 and not fromloc:
            if coll is not None:
                shape.lon, shape.lat = _member_position(coll, argv[i + 1])
            frommember = True
            i += 1
        elif flags & GEOSEARCH and arg == b"fromlonlat" and remaining >= 2 and not frommember:
            shape.lon, shape.lat = _lon_lat(argv[i + 1], argv[i + 2])
            fromloc = True
            i += 2
        elif flags & GEOSEARCH and arg == b"byradius" and remaining >= 2 and not bybox:
            _radius(shape, argv[i + 1], argv[i + 2])
            shape.box = False
            byradius = True
            i += 2
        elif flags & GEOSEARCH and arg == b"bybox" and remaining >= 3 and not byradius:
            _box(shape, argv[i + 1], argv[i + 2], argv[i + 3])
            shape.box = True
            bybox = True
            i += 3
        else:
            raise syntax()
        i += 1

    name = argv[0].decode("utf-8", "surrogateescape")
    if storekey is not None and (withdist or withhash or withcoords):
        raise RedisError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD "
                         "options" % ("GEOSEARCHSTORE" if flags & GEOSEARCHSTORE
                                      else "STORE option in GEORADIUS"))
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise RedisError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for "
                         + name)
    if flags & GEOSEARCH and not (byradius or bybox):
        raise RedisError("ERR exactly one of BYRADIUS and BYBOX can be specified for " + name)
    if anyopt and not count:
        raise RedisError("ERR the ANY argument requires COUNT argument")
    if coll is None:
        if storekey is not None:
            ks.delete(c.db, storekey)
            return 0
        return []
    if count and not sort and not anyopt:
        sort = 1

    found = _members_in_shape(coll, shape, count if anyopt else 0)
    if not found and storekey is None:
        return []
    if sort:
        found.sort(key=lambda p: p[4], reverse=sort < 0)
    returned = found if not count else found[:count]

    if storekey is None:
        out: list = []
        for member, score, lon, lat, d in returned:
            d /= shape.conversion
            if not (withdist or withhash or withcoords):
                out.append(member)
                continue
            item: list = [member]
            if withdist:
                item.append(_dist(d))
            if withhash:
                item.append(int(score))
            if withcoords:
                item.append([_human(c, lon), _human(c, lat)])
            out.append(item)
        return out
    pairs = [(member, (d / shape.conversion) if storedist else score)
             for member, score, lon, lat, d in returned]
    pairs.sort(key=lambda p: (p[1], p[0]))
    return zsets._store(c, storekey, pairs)


def _store_keys(startfrom: int):
    """The key specs of GEORADIUS[BYMEMBER]: the source, then the first STORE and the first
    STOREDIST keyword from ``startfrom`` on (a keyword in the last argument names no key)."""
    def keys(argv: list[bytes]) -> list[int]:
        out = [1]
        for word in (b"store", b"storedist"):
            for i in range(startfrom, len(argv) - 1):
                if argv[i].lower() == word:
                    out.append(i + 1)
                    break
        return out
    return keys


@command("georadius", -6, "write denyoom", 1, 1, 1, keys=_store_keys(6))
def georadius(c, argv):
    return _search(c, argv, 1, RADIUS_COORDS)


@command("georadius_ro", -6, "readonly", 1, 1, 1)
def georadius_ro(c, argv):
    return _search(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember", -5, "write denyoom", 1, 1, 1, keys=_store_keys(5))
def georadiusbymember(c, argv):
    return _search(c, argv, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro", -5, "readonly", 1, 1, 1)
def georadiusbymember_ro(c, argv):
    return _search(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch", -7, "readonly", 1, 1, 1)
def geosearch(c, argv):
    return _search(c, argv, 1, GEOSEARCH)


@command("geosearchstore", -8, "write denyoom", 1, 2, 1)
def geosearchstore(c, argv):
    return _search(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
