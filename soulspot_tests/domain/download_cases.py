"""Labelled Soulseek search situations: a wanted track, slskd's responses, what a careful human picks.

Responses follow slskd's JSON: ``extension`` is empty, lossless files carry no ``bitRate``, and
``bitDepth``, ``sampleRate`` and ``length`` are left out where peers do not report them. Labels say
which file a person choosing by hand would download, or ``NONE`` when they would download nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from soulspot_pipeline.domain.download_query import WantedTrack
from soulspot_pipeline.domain.download_ranking import PeerRecord, QualityProfile, RankingPolicy

NONE = "none"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    wanted: WantedTrack
    responses: list[dict]
    expected: tuple[str, str] | str
    policy: RankingPolicy = field(default_factory=RankingPolicy)
    peers: dict[str, PeerRecord] = field(default_factory=dict)


def f(filename: str, size: int, **attributes: object) -> dict:
    """A search result file as slskd sends it; attributes the peer did not report are absent."""
    entry: dict[str, object] = {"filename": filename, "size": size, "code": 1, "extension": ""}
    entry.update({k: v for k, v in attributes.items() if v is not None})
    entry.setdefault("isVariableBitRate", False)
    entry.setdefault("isLocked", False)
    return entry


def r(
    username: str,
    files: list[dict],
    *,
    free: bool = True,
    queue: int = 0,
    speed: int = 1_500_000,
    locked: list[dict] | None = None,
) -> dict:
    """A search response as slskd sends it."""
    locked = locked or []
    return {
        "username": username,
        "fileCount": len(files),
        "files": files,
        "lockedFileCount": len(locked),
        "lockedFiles": locked,
        "hasFreeUploadSlot": free,
        "queueLength": queue,
        "uploadSpeed": speed,
        "token": 5_000 + sum(map(ord, username)),
    }


def flac(filename: str, seconds: int | None, **attributes: object) -> dict:
    return f(filename, (seconds or 240) * 112_000, length=seconds, **attributes)


def mp3(filename: str, kbps: int | None, seconds: int | None, **attributes: object) -> dict:
    return f(filename, (kbps or 320) * 125 * (seconds or 240), bitRate=kbps, length=seconds, **attributes)


ONE_MORE_TIME = WantedTrack("t-omt", "Daft Punk", "One More Time", "Discovery", 320_357, 1, 1, 14)
TIME = WantedTrack("t-time", "Pink Floyd", "Time", "The Dark Side of the Moon", 413_000, 4, 1, 10)
LIVE_FOREVER = WantedTrack("t-lf", "Oasis", "Live Forever", "Definitely Maybe", 276_000, 5, 1, 11)
ALIVE = WantedTrack("t-alive", "Pearl Jam", "Alive", "Ten", 341_000, 3, 1, 11)
CREEP = WantedTrack("t-creep", "Radiohead", "Creep", "Pablo Honey", 238_000, 2, 1, 12)
CREEP_ACOUSTIC = WantedTrack("t-creep-ac", "Radiohead", "Creep (Acoustic)", "My Iron Lung", None)
JOGA = WantedTrack("t-joga", "Björk", "Jóga", "Homogenic", 305_000)
HALO = WantedTrack("t-halo", "Beyoncé", "Halo", "I Am... Sasha Fierce", 261_000)
HOPPIPOLLA = WantedTrack("t-hopp", "Sigur Rós", "Hoppípolla", "Takk...", 268_000)
RHAPSODY_LIVE = WantedTrack(
    "t-br-live", "Queen", "Bohemian Rhapsody (Live at Wembley '86)", "Live at Wembley '86", None
)
HELLO = WantedTrack("t-hello", "Adele", "Hello", "25", 295_000)
HELLO_GOODBYE = WantedTrack("t-hg", "The Beatles", "Hello, Goodbye", "Magical Mystery Tour", 208_000)
UPTOWN_FUNK = WantedTrack("t-uf", "Mark Ronson", "Uptown Funk (feat. Bruno Mars)", "Uptown Special", 270_000)
MALAMENTE = WantedTrack("t-mal", "ROSALÍA", "MALAMENTE - Cap.1: Augurio", "El Mal Querer", 150_000)
FIRST_LOVE = WantedTrack("t-fl", "宇多田ヒカル", "First Love", "First Love", 259_000)
TEARDROP = WantedTrack("t-tear", "Massive Attack", "Teardrop", "Mezzanine", 330_000)
BACK_IN_BLACK = WantedTrack("t-bib", "AC/DC", "Back In Black", "Back In Black", 255_000)
SWEET_CHILD = WantedTrack("t-scom", "Guns N' Roses", "Sweet Child O' Mine", "Appetite for Destruction", 356_000)
BLINDING_LIGHTS = WantedTrack("t-bl", "The Weeknd", "Blinding Lights", "After Hours", 200_000)
LOSE_YOURSELF = WantedTrack("t-ly", "Eminem", "Lose Yourself", "8 Mile", 326_000)
GET_LUCKY = WantedTrack(
    "t-gl", "Daft Punk", "Get Lucky (feat. Pharrell Williams and Nile Rodgers)", "Random Access Memories", 369_000
)
GET_LUCKY_EDIT = WantedTrack("t-gl-edit", "Daft Punk", "Get Lucky - Radio Edit", "Get Lucky", 248_000)
TEEN_SPIRIT = WantedTrack("t-slts", "Nirvana", "Smells Like Teen Spirit", "Nevermind", 301_000)
ONE = WantedTrack("t-one", "Metallica", "One", "...And Justice for All", 446_000)
YELLOW = WantedTrack("t-yellow", "Coldplay", "Yellow", "Parachutes", 269_000)
LIGHTNING = WantedTrack("t-lc", "Live", "Lightning Crashes", "Throwing Copper", 325_000)
COVER_ME = WantedTrack("t-cm", "Bruce Springsteen", "Cover Me", "Born in the U.S.A.", 207_000)
TIME_REMASTER = WantedTrack(
    "t-time-r", "Pink Floyd", "Time - 2011 Remaster", "The Dark Side of the Moon (2011 Remastered Version)", 413_000
)
GLORY_BOX = WantedTrack("t-gb", "Portishead", "Glory Box", "Dummy", 306_000)
REAPER = WantedTrack("t-reaper", "Blue Öyster Cult", "(Don't Fear) The Reaper", "Agents of Fortune", 308_000)
BOBBY_MCGEE = WantedTrack("t-bobby", "Janis Joplin", "Me & Bobby McGee", "Pearl", 271_000)
ABOUT_A_GIRL = WantedTrack("t-aag", "Nirvana", "About a Girl", "MTV Unplugged in New York", 217_000)

DP = r"@@fvxlo\music\Daft Punk\Discovery"

CASES: list[Case] = [
    Case(
        "lossless beats 320 and 128",
        ONE_MORE_TIME,
        [
            r("flacfan", [flac(rf"{DP}\01 One More Time.flac", 320)]),
            r("mp3head", [mp3(r"@@q1\Daft Punk - Discovery\01 - One More Time.mp3", 320, 320)]),
            r("oldrips", [mp3(r"@@zz\mp3\Daft Punk\01 One More Time.mp3", 128, 320)]),
        ],
        ("flacfan", rf"{DP}\01 One More Time.flac"),
    ),
    Case(
        "320 beats 128 among lossy files",
        ONE_MORE_TIME,
        [
            r("oldrips", [mp3(r"@@zz\mp3\Daft Punk\01 One More Time.mp3", 128, 320)]),
            r("mp3head", [mp3(r"@@q1\Daft Punk - Discovery\01 - One More Time.mp3", 320, 320)]),
        ],
        ("mp3head", r"@@q1\Daft Punk - Discovery\01 - One More Time.mp3"),
    ),
    Case(
        "only a 128 kbps copy: nothing",
        ONE_MORE_TIME,
        [r("oldrips", [mp3(r"@@zz\mp3\Daft Punk\01 One More Time.mp3", 128, 320)])],
        NONE,
    ),
    Case(
        "VBR V0 beats CBR 192",
        TEARDROP,
        [
            r("vbr", [mp3(r"@@v\Massive Attack\Mezzanine [V0]\03 Teardrop.mp3", 247, 330, isVariableBitRate=True)]),
            r("cbr", [mp3(r"@@c\Massive Attack\Mezzanine\03 Teardrop.mp3", 192, 330)]),
        ],
        ("vbr", r"@@v\Massive Attack\Mezzanine [V0]\03 Teardrop.mp3"),
    ),
    Case(
        "low VBR average is refused",
        TEARDROP,
        [
            r("vbr", [mp3(r"@@v\Massive Attack\Mezzanine\03 Teardrop.mp3", 158, 330, isVariableBitRate=True)]),
            r("cbr", [mp3(r"@@c\Massive Attack\Mezzanine\03 Teardrop.mp3", 192, 330)]),
        ],
        ("cbr", r"@@c\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "missing bitRate: estimated 320 from size and length beats 256",
        GLORY_BOX,
        [
            r("nobr", [f(r"@@n\Portishead\Dummy\11 Glory Box.mp3", 12_280_000, length=306)]),
            r("br256", [mp3(r"@@b\Portishead\Dummy\11 Glory Box.mp3", 256, 306)]),
        ],
        ("nobr", r"@@n\Portishead\Dummy\11 Glory Box.mp3"),
    ),
    Case(
        "missing bitRate: estimated 128 is refused",
        GLORY_BOX,
        [
            r("nobr", [f(r"@@n\Portishead\Dummy\11 Glory Box.mp3", 4_900_000, length=306)]),
            r("br256", [mp3(r"@@b\Portishead\Dummy\11 Glory Box.mp3", 256, 306)]),
        ],
        ("br256", r"@@b\Portishead\Dummy\11 Glory Box.mp3"),
    ),
    Case(
        "missing bitRate and length: accepted when it is the only copy",
        GLORY_BOX,
        [r("bare", [f(r"@@x\Portishead\Dummy\11 Glory Box.mp3", 9_800_000)])],
        ("bare", r"@@x\Portishead\Dummy\11 Glory Box.mp3"),
    ),
    Case(
        "flac reporting nothing but its size still beats 320",
        GLORY_BOX,
        [
            r("bareflac", [f(r"@@x\Portishead\Dummy\11 Glory Box.flac", 34_000_000)]),
            r("mp3head", [mp3(r"@@m\Portishead\Dummy\11 Glory Box.mp3", 320, 306)]),
        ],
        ("bareflac", r"@@x\Portishead\Dummy\11 Glory Box.flac"),
    ),
    Case(
        "same quality: artist and album in the path win",
        ONE_MORE_TIME,
        [
            r("sorted", [mp3(rf"{DP}\01 One More Time.mp3", 320, 320)]),
            r("messy", [mp3(r"@@abcde\incoming\one_more_time.mp3", 320, 320)]),
        ],
        ("sorted", rf"{DP}\01 One More Time.mp3"),
    ),
    Case(
        "live folder is refused",
        CREEP,
        [
            r("bootlegger", [flac(r"@@b\Radiohead\Live at Glastonbury 1997\05 Creep.flac", None)]),
            r("studio", [mp3(r"@@s\Radiohead\Pablo Honey\02 Creep.mp3", 320, 238)]),
        ],
        ("studio", r"@@s\Radiohead\Pablo Honey\02 Creep.mp3"),
    ),
    Case(
        "(Live) in the file name is refused",
        CREEP,
        [
            r("bootlegger", [flac(r"@@b\Radiohead\Singles\Creep (Live).flac", None)]),
            r("studio", [mp3(r"@@s\Radiohead\Pablo Honey\02 Creep.mp3", 320, 238)]),
        ],
        ("studio", r"@@s\Radiohead\Pablo Honey\02 Creep.mp3"),
    ),
    Case(
        "'Live Forever' is not a live version",
        LIVE_FOREVER,
        [
            r("britpop", [flac(r"@@o\Oasis\Definitely Maybe\05 Live Forever.flac", 276)], free=False, queue=4),
            r("fan", [mp3(r"@@f\Oasis\Definitely Maybe\05 - Live Forever.mp3", 320, 276)]),
        ],
        ("britpop", r"@@o\Oasis\Definitely Maybe\05 Live Forever.flac"),
    ),
    Case(
        "'Live Forever' from a live album is refused",
        LIVE_FOREVER,
        [
            r("liveguy", [flac(r"@@l\Oasis\Familiar to Millions (Live)\CD1\03 Live Forever.flac", None)]),
            r("fan", [mp3(r"@@f\Oasis\Definitely Maybe\05 - Live Forever.mp3", 320, 276)], free=False, queue=12),
        ],
        ("fan", r"@@f\Oasis\Definitely Maybe\05 - Live Forever.mp3"),
    ),
    Case(
        "'Alive' does not match 'live'",
        ALIVE,
        [
            r("grunge", [flac(r"@@g\Pearl Jam\Ten\03 Alive.flac", 341)], free=False, queue=9),
            r("fan", [mp3(r"@@f\Pearl Jam\Ten\03 Alive.mp3", 320, 341)]),
        ],
        ("grunge", r"@@g\Pearl Jam\Ten\03 Alive.flac"),
    ),
    Case(
        "'Alive' from a live album is refused",
        ALIVE,
        [
            r("taper", [flac(r"@@t\Pearl Jam\Live On Two Legs\Alive.flac", None)]),
            r("fan", [mp3(r"@@f\Pearl Jam\Ten\03 Alive.mp3", 320, 341)]),
        ],
        ("fan", r"@@f\Pearl Jam\Ten\03 Alive.mp3"),
    ),
    Case(
        "remix is refused",
        ONE_MORE_TIME,
        [
            r("dj", [flac(r"@@d\House\One More Time (Remix).flac", None)]),
            r("fan", [mp3(rf"{DP}\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", rf"{DP}\01 One More Time.mp3"),
    ),
    Case(
        "remixes folder is refused",
        ONE_MORE_TIME,
        [
            r("dj", [flac(r"@@d\Daft Punk\Daft Club Remixes\One More Time.flac", None)]),
            r("fan", [mp3(rf"{DP}\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", rf"{DP}\01 One More Time.mp3"),
    ),
    Case(
        "karaoke is refused",
        HELLO,
        [
            r("singalong", [flac(r"@@k\Karaoke Hits 2015\Hello (In the Style of Adele).flac", 295)]),
            r("fan", [mp3(r"@@f\Adele\25\01 Hello.mp3", 320, 295)]),
        ],
        ("fan", r"@@f\Adele\25\01 Hello.mp3"),
    ),
    Case(
        "karaoke artist folder is refused",
        BLINDING_LIGHTS,
        [
            r("singalong", [flac(r"@@k\Karaoke All Stars\Blinding Lights.flac", 200)]),
            r("fan", [mp3(r"@@f\The Weeknd\After Hours\09 Blinding Lights.mp3", 320, 200)]),
        ],
        ("fan", r"@@f\The Weeknd\After Hours\09 Blinding Lights.mp3"),
    ),
    Case(
        "instrumental is refused",
        LOSE_YOURSELF,
        [
            r("beats", [flac(r"@@b\Eminem\8 Mile\Lose Yourself (Instrumental).flac", 326)]),
            r("fan", [mp3(r"@@f\Eminem - Lose Yourself.mp3", 320, 326)]),
        ],
        ("fan", r"@@f\Eminem - Lose Yourself.mp3"),
    ),
    Case(
        "soundtrack compilation is fine, its instrumental is not",
        LOSE_YOURSELF,
        [
            r("ost", [flac(r"@@o\Various Artists\8 Mile OST\01 Eminem - Lose Yourself.flac", 326)]),
            r("beats", [flac(r"@@b\Eminem\8 Mile\Lose Yourself (Instrumental).flac", 326)], speed=9_000_000),
        ],
        ("ost", r"@@o\Various Artists\8 Mile OST\01 Eminem - Lose Yourself.flac"),
    ),
    Case(
        "acoustic version is refused",
        YELLOW,
        [
            r("unplugged", [flac(r"@@u\Coldplay\Yellow (Acoustic Version).flac", None)]),
            r("fan", [flac(r"@@f\Coldplay\Parachutes\05 Yellow.flac", 269)], free=False, queue=20),
        ],
        ("fan", r"@@f\Coldplay\Parachutes\05 Yellow.flac"),
    ),
    Case(
        "wanted acoustic version: the studio take is refused",
        CREEP_ACOUSTIC,
        [
            r("studio", [flac(r"@@s\Radiohead\Pablo Honey\02 Creep.flac", 238)]),
            r("bsides", [flac(r"@@b\Radiohead\My Iron Lung EP\07 Creep (Acoustic).flac", 259)], free=False, queue=3),
        ],
        ("bsides", r"@@b\Radiohead\My Iron Lung EP\07 Creep (Acoustic).flac"),
    ),
    Case(
        "demo is refused",
        TEEN_SPIRIT,
        [
            r("rarities", [flac(r"@@r\Nirvana\With the Lights Out\Smells Like Teen Spirit (Demo).flac", None)]),
            r("fan", [mp3(r"@@f\Nirvana\Nevermind\01 Smells Like Teen Spirit.mp3", 320, 301)]),
        ],
        ("fan", r"@@f\Nirvana\Nevermind\01 Smells Like Teen Spirit.mp3"),
    ),
    Case(
        "demos folder is refused",
        TEEN_SPIRIT,
        [
            r("rarities", [flac(r"@@r\Nirvana\Demos\Smells Like Teen Spirit.flac", 301)]),
            r("fan", [mp3(r"@@f\Nirvana\Nevermind\01 Smells Like Teen Spirit.mp3", 320, 301)]),
        ],
        ("fan", r"@@f\Nirvana\Nevermind\01 Smells Like Teen Spirit.mp3"),
    ),
    Case(
        "cover by someone else is refused",
        TEARDROP,
        [
            r("covers", [flac(r"@@c\Indie Covers Vol 2\Teardrop (Massive Attack Cover).flac", None)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 256, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "'Cover Me' is not a cover, its live take is refused",
        COVER_ME,
        [
            r("liveboss", [flac(r"@@l\Bruce Springsteen\Singles\Cover Me (Live).flac", None)]),
            r("boss", [mp3(r"@@b\Bruce Springsteen\Born in the U.S.A\03 Cover Me.mp3", 320, 207)]),
        ],
        ("boss", r"@@b\Bruce Springsteen\Born in the U.S.A\03 Cover Me.mp3"),
    ),
    Case(
        "an artist called Live is not a live version",
        LIGHTNING,
        [
            r("nineties", [flac(r"@@n\Live\Throwing Copper\07 Lightning Crashes.flac", 325)]),
            r("fan", [mp3(r"@@f\Live - Lightning Crashes.mp3", 320, 325)]),
        ],
        ("nineties", r"@@n\Live\Throwing Copper\07 Lightning Crashes.flac"),
    ),
    Case(
        "wanted live recording: the studio take is refused",
        RHAPSODY_LIVE,
        [
            r("studio", [flac(r"@@s\Queen\A Night at the Opera\11 Bohemian Rhapsody.flac", 355)]),
            r(
                "liveq",
                [flac(r"@@l\Queen\Live at Wembley '86\CD2\01 Bohemian Rhapsody.flac", 354)],
                free=False,
                queue=6,
            ),
        ],
        ("liveq", r"@@l\Queen\Live at Wembley '86\CD2\01 Bohemian Rhapsody.flac"),
    ),
    Case(
        "radio edit refused by its length",
        GET_LUCKY,
        [
            r("edit", [flac(r"@@e\Daft Punk\Get Lucky (Single)\01 Get Lucky (Radio Edit).flac", 248)]),
            r("ram", [flac(r"@@r\Daft Punk\Random Access Memories\08 Get Lucky.flac", 369)], free=False, queue=30),
        ],
        ("ram", r"@@r\Daft Punk\Random Access Memories\08 Get Lucky.flac"),
    ),
    Case(
        "wanted radio edit: album version refused by its length",
        GET_LUCKY_EDIT,
        [
            r("ram", [flac(r"@@r\Daft Punk\Random Access Memories\08 Get Lucky.flac", 369)]),
            r("edit", [mp3(r"@@e\Daft Punk\Get Lucky (Radio Edit).mp3", 320, 248)]),
        ],
        ("edit", r"@@e\Daft Punk\Get Lucky (Radio Edit).mp3"),
    ),
    Case(
        "wrong length under the right name is refused",
        ONE_MORE_TIME,
        [
            r("short", [flac(rf"{DP}\01 One More Time.flac", 240)]),
            r("fan", [mp3(r"@@f\Daft Punk\Discovery\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", r"@@f\Daft Punk\Discovery\01 One More Time.mp3"),
    ),
    Case(
        "length within tolerance is accepted",
        ONE_MORE_TIME,
        [
            r("close", [flac(rf"{DP}\01 One More Time.flac", 324)]),
            r("fan", [mp3(r"@@f\Daft Punk\Discovery\01 One More Time.mp3", 320, 320)]),
        ],
        ("close", rf"{DP}\01 One More Time.flac"),
    ),
    Case(
        "every copy has the wrong length: nothing",
        ONE_MORE_TIME,
        [
            r("a", [flac(r"@@a\Daft Punk\Alive 2007\One More Time.flac", 402)]),
            r("b", [mp3(r"@@b\Daft Punk\One More Time (Short Radio Edit).mp3", 320, 230)]),
        ],
        NONE,
    ),
    Case(
        "a title sharing a word is another song",
        TIME,
        [
            r("dp", [flac(r"@@d\Daft Punk\Discovery\01 One More Time.flac", None)]),
            r("floyd", [mp3(r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.mp3", 320, 413)]),
        ],
        ("floyd", r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.mp3"),
    ),
    Case(
        "'Hello Goodbye' is not 'Hello'",
        HELLO,
        [
            r("beatle", [flac(r"@@b\The Beatles\Magical Mystery Tour\Hello Goodbye.flac", None)]),
            r("fan", [mp3(r"@@f\Adele\25\01 Hello.mp3", 320, 295)], free=False, queue=8),
        ],
        ("fan", r"@@f\Adele\25\01 Hello.mp3"),
    ),
    Case(
        "'Hello Little Girl' lacks 'Goodbye'",
        HELLO_GOODBYE,
        [
            r("anthology", [flac(r"@@a\The Beatles\Anthology 1\Hello Little Girl.flac", None)]),
            r("fan", [mp3(r"@@f\The Beatles\Magical Mystery Tour\07 Hello, Goodbye.mp3", 320, 208)]),
        ],
        ("fan", r"@@f\The Beatles\Magical Mystery Tour\07 Hello, Goodbye.mp3"),
    ),
    Case(
        "another artist's song of the same name is refused by its length",
        HELLO,
        [
            r("lionel", [flac(r"@@l\Lionel Richie\Can't Slow Down\Hello.flac", 248)]),
            r("fan", [mp3(r"@@f\Adele\25\01 Hello.mp3", 320, 295)]),
        ],
        ("fan", r"@@f\Adele\25\01 Hello.mp3"),
    ),
    Case(
        "'One' by Metallica, not by U2",
        ONE,
        [
            r("u2fan", [flac(r"@@u\U2\Achtung Baby\03 One.flac", 276)]),
            r("metal", [flac(r"@@m\Metallica\...And Justice for All\04 One.flac", 446)], free=False, queue=2),
        ],
        ("metal", r"@@m\Metallica\...And Justice for All\04 One.flac"),
    ),
    Case(
        "locked file is refused",
        ONE_MORE_TIME,
        [
            r("friendsonly", [], locked=[flac(rf"{DP}\01 One More Time.flac", 320)]),
            r("fan", [mp3(r"@@f\Daft Punk\Discovery\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", r"@@f\Daft Punk\Discovery\01 One More Time.mp3"),
    ),
    Case(
        "file flagged isLocked is refused",
        TEARDROP,
        [
            r("private", [flac(r"@@p\Massive Attack\Mezzanine\03 Teardrop.flac", 330, isLocked=True)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "only locked copies: nothing",
        TEARDROP,
        [r("private", [], locked=[flac(r"@@p\Massive Attack\Mezzanine\03 Teardrop.flac", 330)])],
        NONE,
    ),
    Case(
        "same file: free slot beats a long queue",
        TEARDROP,
        [
            r(
                "busy",
                [flac(r"@@b\Massive Attack\Mezzanine\03 Teardrop.flac", 330)],
                free=False,
                queue=150,
                speed=4_000_000,
            ),
            r("idle", [flac(r"@@i\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], free=True, queue=0, speed=800_000),
        ],
        ("idle", r"@@i\Massive Attack\Mezzanine\03 Teardrop.flac"),
    ),
    Case(
        "no slot anywhere: the shorter queue wins",
        TEARDROP,
        [
            r("long", [flac(r"@@l\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], free=False, queue=80),
            r("short", [flac(r"@@s\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], free=False, queue=2),
        ],
        ("short", r"@@s\Massive Attack\Mezzanine\03 Teardrop.flac"),
    ),
    Case(
        "same file, free slots: the faster peer wins",
        TEARDROP,
        [
            r("slow", [flac(r"@@s\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], speed=40_000),
            r("fast", [flac(r"@@f\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], speed=6_000_000),
        ],
        ("fast", r"@@f\Massive Attack\Mezzanine\03 Teardrop.flac"),
    ),
    Case(
        "quality outweighs availability",
        TEARDROP,
        [
            r(
                "busy",
                [flac(r"@@b\Massive Attack\Mezzanine\03 Teardrop.flac", 330)],
                free=False,
                queue=60,
                speed=200_000,
            ),
            r("idle", [mp3(r"@@i\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)], speed=8_000_000),
        ],
        ("busy", r"@@b\Massive Attack\Mezzanine\03 Teardrop.flac"),
    ),
    Case(
        "blocked user is refused",
        TEARDROP,
        [
            r("leecher", [flac(r"@@l\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
        policy=RankingPolicy(blocked_users=frozenset({"leecher"})),
    ),
    Case(
        "blocked word in the path is refused",
        TEARDROP,
        [
            r("boot", [flac(r"@@b\Bootleg\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
        policy=RankingPolicy(blocked_words=("bootleg",)),
    ),
    Case(
        "required word missing from the path is refused",
        ONE_MORE_TIME,
        [
            r("messy", [flac(r"@@m\incoming\One More Time.flac", 320)]),
            r("fan", [mp3(r"@@f\Daft Punk\Discovery\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", r"@@f\Daft Punk\Discovery\01 One More Time.mp3"),
        policy=RankingPolicy(required_words=("discovery",)),
    ),
    Case(
        "blocked path pattern is refused",
        ONE_MORE_TIME,
        [
            r("partial", [flac(r"@@p\incomplete\Daft Punk\Discovery\01 One More Time.flac", 320)]),
            r("fan", [mp3(r"@@f\Daft Punk\Discovery\01 One More Time.mp3", 320, 320)]),
        ],
        ("fan", r"@@f\Daft Punk\Discovery\01 One More Time.mp3"),
        policy=RankingPolicy(blocked_patterns=(r"(?i)\\incomplete\\",)),
    ),
    Case(
        "16/44.1 beats 24/192 under the default profile",
        JOGA,
        [
            r("audiophile", [flac(r"@@a\Björk\Homogenic (24-192)\03 Jóga.flac", 305, bitDepth=24, sampleRate=192000)]),
            r(
                "cdrip",
                [flac(r"@@c\Björk\Homogenic\03 Jóga.flac", 305, bitDepth=16, sampleRate=44100)],
                free=False,
                queue=3,
            ),
        ],
        ("cdrip", r"@@c\Björk\Homogenic\03 Jóga.flac"),
    ),
    Case(
        "24/96 is within the profile and beats 320",
        JOGA,
        [
            r("audiophile", [flac(r"@@a\Björk\Homogenic\03 Jóga.flac", 305, bitDepth=24, sampleRate=96000)]),
            r("fan", [mp3(r"@@f\Björk\Homogenic\03 Jóga.mp3", 320, 305)]),
        ],
        ("audiophile", r"@@a\Björk\Homogenic\03 Jóga.flac"),
    ),
    Case(
        "24/192 is still lossless: it beats 320",
        JOGA,
        [
            r("audiophile", [flac(r"@@a\Björk\Homogenic\03 Jóga.flac", 305, bitDepth=24, sampleRate=192000)]),
            r("fan", [mp3(r"@@f\Björk\Homogenic\03 Jóga.mp3", 320, 305)]),
        ],
        ("audiophile", r"@@a\Björk\Homogenic\03 Jóga.flac"),
    ),
    Case(
        "a profile preferring hi-res picks 24/96",
        JOGA,
        [
            r("cdrip", [flac(r"@@c\Björk\Homogenic\03 Jóga.flac", 305, bitDepth=16, sampleRate=44100)]),
            r(
                "audiophile",
                [flac(r"@@a\Björk\Homogenic\03 Jóga.flac", 305, bitDepth=24, sampleRate=96000)],
                free=False,
                queue=1,
            ),
        ],
        ("audiophile", r"@@a\Björk\Homogenic\03 Jóga.flac"),
        policy=RankingPolicy(
            quality_profile=QualityProfile(preferred_bit_depths=(24,), preferred_sample_rates=(96000, 88200))
        ),
    ),
    Case(
        "accents do not matter: Jóga matches Joga",
        JOGA,
        [
            r("ascii", [flac(r"@@a\Bjork\Homogenic\03 Joga.flac", 305)]),
            r("fan", [mp3(r"@@f\Björk\Homogenic\03 Jóga.mp3", 320, 305)]),
        ],
        ("ascii", r"@@a\Bjork\Homogenic\03 Joga.flac"),
    ),
    Case(
        "decomposed accents in a macOS share still match",
        HALO,
        [
            r("mac", [flac("@@m\\Beyonce\u0301\\I Am... Sasha Fierce\\02 Halo.flac", 261)]),
            r("karaoke", [flac(r"@@k\Beyoncé\Halo (Karaoke Version).flac", 261)], speed=9_000_000),
        ],
        ("mac", "@@m\\Beyonce\u0301\\I Am... Sasha Fierce\\02 Halo.flac"),
    ),
    Case(
        "Icelandic title: the right song of the album",
        HOPPIPOLLA,
        [
            r("nordic", [flac(r"@@n\Sigur Ros\Takk\03 Med blodnasir.flac", 138)]),
            r("post", [flac(r"@@p\Sigur Rós\Takk...\02 Hoppípolla.flac", 268)], free=False, queue=5),
        ],
        ("post", r"@@p\Sigur Rós\Takk...\02 Hoppípolla.flac"),
    ),
    Case(
        "Japanese artist folder",
        FIRST_LOVE,
        [
            r("jpop", [flac(r"@@j\宇多田ヒカル\First Love\01 First Love.flac", 259)]),
            r("romaji", [mp3(r"@@r\Utada Hikaru - First Love (Remastered).mp3", 320, 259)]),
        ],
        ("jpop", r"@@j\宇多田ヒカル\First Love\01 First Love.flac"),
    ),
    Case(
        "Spotify-style title with a dash note",
        MALAMENTE,
        [
            r("flamenco", [flac(r"@@f\Rosalía\El Mal Querer\01 Malamente.flac", 150)]),
            r("remixer", [flac(r"@@r\Rosalía\Malamente (Remix).flac", 152)], speed=9_000_000),
        ],
        ("flamenco", r"@@f\Rosalía\El Mal Querer\01 Malamente.flac"),
    ),
    Case(
        "featured artist in brackets in the file name",
        UPTOWN_FUNK,
        [
            r("funk", [flac(r"@@f\Mark Ronson - Uptown Funk (feat. Bruno Mars).flac", 270)]),
            r("fan", [mp3(r"@@m\Mark Ronson\Uptown Special\04 Uptown Funk.mp3", 320, 270)]),
        ],
        ("funk", r"@@f\Mark Ronson - Uptown Funk (feat. Bruno Mars).flac"),
    ),
    Case(
        "featured artist without brackets in the file name",
        UPTOWN_FUNK,
        [
            r("low", [mp3(r"@@l\Uptown Funk.mp3", 192, 270)]),
            r("ft", [mp3(r"@@f\Mark Ronson ft. Bruno Mars - Uptown Funk.mp3", 320, 270)]),
        ],
        ("ft", r"@@f\Mark Ronson ft. Bruno Mars - Uptown Funk.mp3"),
    ),
    Case(
        "featured artists in the wanted title, plain file names",
        GET_LUCKY,
        [
            r("ram", [flac(r"@@r\Daft Punk\Random Access Memories\08 Get Lucky.flac", 369)]),
            r("fan", [mp3(r"@@f\Daft Punk - Get Lucky (feat. Pharrell Williams).mp3", 320, 369)]),
        ],
        ("ram", r"@@r\Daft Punk\Random Access Memories\08 Get Lucky.flac"),
    ),
    Case(
        "apostrophes written or dropped",
        SWEET_CHILD,
        [
            r("gnr", [flac(r"@@g\Guns N' Roses\Appetite for Destruction\09 Sweet Child O' Mine.flac", 356)]),
            r("fan", [mp3(r"@@f\Guns N Roses - Sweet Child O Mine.mp3", 320, 356)]),
        ],
        ("gnr", r"@@g\Guns N' Roses\Appetite for Destruction\09 Sweet Child O' Mine.flac"),
    ),
    Case(
        "apostrophes dropped in the only lossless copy",
        SWEET_CHILD,
        [
            r("gnr", [mp3(r"@@g\Guns N' Roses\Appetite for Destruction\09 Sweet Child O' Mine.mp3", 256, 356)]),
            r("fan", [flac(r"@@f\Guns N Roses\Appetite For Destruction\09 - Sweet Child O Mine.flac", 356)]),
        ],
        ("fan", r"@@f\Guns N Roses\Appetite For Destruction\09 - Sweet Child O Mine.flac"),
    ),
    Case(
        "AC/DC written ACDC; its live take refused",
        BACK_IN_BLACK,
        [
            r("rock", [flac(r"@@r\ACDC\Back In Black\06 Back In Black.flac", 255)]),
            r("live", [flac(r"@@l\AC-DC - Back In Black (Live).flac", None)], speed=9_000_000),
        ],
        ("rock", r"@@r\ACDC\Back In Black\06 Back In Black.flac"),
    ),
    Case(
        "non-audio files are ignored",
        TEARDROP,
        [
            r(
                "tidy",
                [
                    f(r"@@t\Massive Attack\Mezzanine\cover.jpg", 250_000),
                    f(r"@@t\Massive Attack\Mezzanine\Mezzanine.nfo", 4_000),
                    f(r"@@t\Massive Attack\Mezzanine\Mezzanine.cue", 2_000),
                    f(r"@@t\Massive Attack\Mezzanine\Mezzanine.m3u", 500),
                    f(r"@@t\Massive Attack\Mezzanine\Teardrop.txt", 100),
                    mp3(r"@@t\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330),
                ],
            )
        ],
        ("tidy", r"@@t\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "only non-audio files: nothing",
        TEARDROP,
        [
            r(
                "art",
                [
                    f(r"@@a\Massive Attack\Mezzanine\Teardrop.jpg", 250_000),
                    f(r"@@a\Massive Attack\Teardrop.log", 3_000),
                ],
            )
        ],
        NONE,
    ),
    Case(
        "no responses: nothing",
        TEARDROP,
        [],
        NONE,
    ),
    Case(
        "WAV is lossless and beats 320",
        TEARDROP,
        [
            r(
                "wav",
                [
                    f(
                        r"@@w\Massive Attack\Mezzanine\03 Teardrop.wav",
                        58_000_000,
                        length=330,
                        bitDepth=16,
                        sampleRate=44100,
                    )
                ],
            ),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("wav", r"@@w\Massive Attack\Mezzanine\03 Teardrop.wav"),
    ),
    Case(
        "WMA is not an allowed format",
        TEARDROP,
        [
            r("win", [f(r"@@w\Massive Attack\Mezzanine\03 Teardrop.wma", 13_200_000, bitRate=320, length=330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 256, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "allowed formats narrowed to FLAC",
        TEARDROP,
        [
            r("busy", [flac(r"@@b\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], free=False, queue=40),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("busy", r"@@b\Massive Attack\Mezzanine\03 Teardrop.flac"),
        policy=RankingPolicy(allowed_formats=frozenset({"flac"})),
    ),
    Case(
        "allowed formats narrowed to FLAC, only MP3 found: nothing",
        TEARDROP,
        [r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)])],
        NONE,
        policy=RankingPolicy(allowed_formats=frozenset({"flac"})),
    ),
    Case(
        "AAC 256 beats MP3 192",
        TEARDROP,
        [
            r("itunes", [f(r"@@i\Massive Attack\Mezzanine\03 Teardrop.m4a", 10_600_000, bitRate=256, length=330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 192, 330)]),
        ],
        ("itunes", r"@@i\Massive Attack\Mezzanine\03 Teardrop.m4a"),
    ),
    Case(
        "ALAC in m4a is lossless",
        TEARDROP,
        [
            r(
                "apple",
                [
                    f(
                        r"@@a\Massive Attack\Mezzanine\03 Teardrop.m4a",
                        36_000_000,
                        length=330,
                        bitDepth=16,
                        sampleRate=44100,
                    )
                ],
            ),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("apple", r"@@a\Massive Attack\Mezzanine\03 Teardrop.m4a"),
    ),
    Case(
        "low-bitrate Opus is refused under the default minimum",
        TEARDROP,
        [
            r("opus", [f(r"@@o\Massive Attack\Mezzanine\03 Teardrop.opus", 5_300_000, bitRate=128, length=330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 256, 330)], free=False, queue=5),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
    ),
    Case(
        "skipped peer is refused",
        TEARDROP,
        [
            r("flaky", [flac(r"@@x\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("fan", r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3"),
        peers={"flaky": PeerRecord(0, 3, NOW + timedelta(days=5))},
    ),
    Case(
        "expired skip no longer applies",
        TEARDROP,
        [
            r("flaky", [flac(r"@@x\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("flaky", r"@@x\Massive Attack\Mezzanine\03 Teardrop.flac"),
        peers={"flaky": PeerRecord(0, 3, NOW - timedelta(days=1))},
    ),
    Case(
        "peer with recent failures ranks below an equal one",
        TEARDROP,
        [
            r("failing", [flac(r"@@x\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], speed=3_000_000),
            r("steady", [flac(r"@@s\Massive Attack\Mezzanine\03 Teardrop.flac", 330)], speed=2_000_000),
        ],
        ("steady", r"@@s\Massive Attack\Mezzanine\03 Teardrop.flac"),
        peers={"failing": PeerRecord(4, 2, None)},
    ),
    Case(
        "peer that delivered before wins a tie",
        TEARDROP,
        [
            r("anon", [flac(r"@@a\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
            r("trusted", [flac(r"@@t\Massive Attack\Mezzanine\03 Teardrop.flac", 330)]),
        ],
        ("trusted", r"@@t\Massive Attack\Mezzanine\03 Teardrop.flac"),
        peers={"trusted": PeerRecord(5, 0, None)},
    ),
    Case(
        "artist in path beats nothing in path",
        TEARDROP,
        [
            r("misc", [mp3(r"@@m\music\misc\Teardrop.mp3", 320, 330)]),
            r("artist", [mp3(r"@@a\music\Massive Attack\Teardrop.mp3", 320, 330)]),
        ],
        ("artist", r"@@a\music\Massive Attack\Teardrop.mp3"),
    ),
    Case(
        "edition notes in file and folder names are fine",
        TIME,
        [
            r(
                "remaster",
                [
                    flac(
                        r"@@r\Pink Floyd\The Dark Side of the Moon (2011 Remaster)\04 Time (2011 Remastered Version).flac",
                        413,
                    )
                ],
            ),
            r("fan", [mp3(r"@@f\Pink Floyd\The Dark Side of the Moon\04 Time.mp3", 320, 413)]),
        ],
        (
            "remaster",
            r"@@r\Pink Floyd\The Dark Side of the Moon (2011 Remaster)\04 Time (2011 Remastered Version).flac",
        ),
    ),
    Case(
        "unbracketed remaster note in a file name is fine",
        TIME,
        [
            r("remaster", [flac(r"@@r\Pink Floyd - Dark Side\04 - Time - Remastered 2011.flac", 413)]),
            r("fan", [mp3(r"@@f\Pink Floyd\The Dark Side of the Moon\04 Time.mp3", 320, 413)]),
        ],
        ("remaster", r"@@r\Pink Floyd - Dark Side\04 - Time - Remastered 2011.flac"),
    ),
    Case(
        "wanted title with a remaster note matches the plain name",
        TIME_REMASTER,
        [
            r("plain", [flac(r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac", 412)]),
            r("fan", [mp3(r"@@f\Pink Floyd - Time.mp3", 320, 413)]),
        ],
        ("plain", r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac"),
    ),
    Case(
        "scene release name with a group tag",
        ONE_MORE_TIME,
        [
            r("scene", [mp3(r"@@s\mp3\Daft_Punk-Discovery-2001-OMA\101-daft_punk-one_more_time-oma.mp3", 320, 320)]),
            r("low", [mp3(r"@@l\Daft Punk\One More Time.mp3", 160, 320)]),
        ],
        ("scene", r"@@s\mp3\Daft_Punk-Discovery-2001-OMA\101-daft_punk-one_more_time-oma.mp3"),
    ),
    Case(
        "bare track-number file name in a folder named after the song",
        ONE_MORE_TIME,
        [
            r("single", [flac(r"@@s\Daft Punk\One More Time (CD Single)\01.flac", 320)]),
            r("low", [mp3(r"@@l\Daft Punk\One More Time.mp3", 128, 320)]),
        ],
        ("single", r"@@s\Daft Punk\One More Time (CD Single)\01.flac"),
    ),
    Case(
        "several files from one peer: the matching one",
        TIME,
        [
            r(
                "floyd",
                [
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\01 Speak to Me.flac", 67),
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\02 Breathe (In the Air).flac", 169),
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac", 413),
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\05 The Great Gig in the Sky.flac", 284),
                ],
            )
        ],
        ("floyd", r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac"),
    ),
    Case(
        "several files without lengths: the title decides",
        TIME,
        [
            r(
                "floyd",
                [
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\03 On the Run.flac", None),
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac", None),
                    flac(r"@@p\Pink Floyd\The Dark Side of the Moon\05 The Great Gig in the Sky.flac", None),
                ],
            )
        ],
        ("floyd", r"@@p\Pink Floyd\The Dark Side of the Moon\04 Time.flac"),
    ),
    Case(
        "bare 'Track 04' in the album's folder is the wanted track number",
        TIME,
        [
            r(
                "oldrip",
                [
                    flac(r"@@o\Pink Floyd - The Dark Side of the Moon\Track 03.flac", None),
                    flac(r"@@o\Pink Floyd - The Dark Side of the Moon\Track 04.flac", None),
                    flac(r"@@o\Pink Floyd - The Dark Side of the Moon\Track 05.flac", None),
                ],
            )
        ],
        ("oldrip", r"@@o\Pink Floyd - The Dark Side of the Moon\Track 04.flac"),
    ),
    Case(
        "bracketed words of the wanted title are optional",
        REAPER,
        [
            r("boc", [flac(r"@@b\Blue Oyster Cult\Agents of Fortune\03 Don't Fear the Reaper.flac", 308)]),
            r("fan", [mp3(r"@@f\Blue Öyster Cult - (Don't Fear) The Reaper.mp3", 320, 308)]),
        ],
        ("boc", r"@@b\Blue Oyster Cult\Agents of Fortune\03 Don't Fear the Reaper.flac"),
    ),
    Case(
        "'&' and 'and' are the same word",
        BOBBY_MCGEE,
        [
            r("pearl", [mp3(r"@@p\Janis Joplin\Pearl\07 Me and Bobby McGee.mp3", 320, 271)]),
            r("taper", [flac(r"@@t\Janis Joplin\Me & Bobby McGee (Live).flac", None)]),
        ],
        ("pearl", r"@@p\Janis Joplin\Pearl\07 Me and Bobby McGee.mp3"),
    ),
    Case(
        "wanted take from an unplugged album: the studio take is refused by its length",
        ABOUT_A_GIRL,
        [
            r("bleach", [flac(r"@@b\Nirvana\Bleach\04 About a Girl.flac", 168)]),
            r("mtv", [flac(r"@@m\Nirvana\MTV Unplugged in New York\01 About a Girl.flac", 217)], free=False, queue=7),
        ],
        ("mtv", r"@@m\Nirvana\MTV Unplugged in New York\01 About a Girl.flac"),
    ),
    Case(
        "forward slashes in a remote path",
        TEARDROP,
        [
            r("unix", [flac("@@u/Massive Attack/Mezzanine/03 Teardrop.flac", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("unix", "@@u/Massive Attack/Mezzanine/03 Teardrop.flac"),
    ),
    Case(
        "upper-case extension",
        TEARDROP,
        [
            r("caps", [flac(r"@@c\MASSIVE ATTACK\MEZZANINE\03 TEARDROP.FLAC", 330)]),
            r("fan", [mp3(r"@@f\Massive Attack\Mezzanine\03 Teardrop.mp3", 320, 330)]),
        ],
        ("caps", r"@@c\MASSIVE ATTACK\MEZZANINE\03 TEARDROP.FLAC"),
    ),
]
