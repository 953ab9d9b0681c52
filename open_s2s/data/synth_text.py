"""Deterministic generator of natural-ish English sentences for synthetic speech.

The grammar is a set of ~35 sentence templates over hand-written, semantically
grouped word lists (people, objects, food, animals, places, ...), with verb and
noun inflection rules. It yields about 1200 distinct surface word forms,
which is small enough for a character-level CTC model trained for minutes on a
CPU to see every word many times, yet large enough that the number of distinct
sentences is astronomically larger than any corpus we draw. That is what lets
the held-out splits contain only *unseen sentences* built from *seen words*.

Every transcript is lower-case and uses only ``a-z``, space and apostrophe,
matching the 28-symbol OpenSeq2Seq character vocabulary.

Example:
    >>> gen = SentenceGenerator(seed=1)
    >>> splits = generate_splits(num_train=10, num_dev=2, num_test=2, seed=1)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

MIN_WORDS = 4
MAX_WORDS = 12
_VALID_TRANSCRIPT = re.compile(r"^[a-z']+( [a-z']+)*$")


def _words(text: str) -> list[str]:
    """Splits a whitespace separated word list (keeps source compact)."""
    return text.split()


def _entries(text: str) -> list[str]:
    """Splits a comma separated list whose entries may contain spaces."""
    return [item.strip() for item in text.split(",") if item.strip()]


# ---------------------------------------------------------------------------
# Word lists. Irregular forms are written inline as ``base:plural`` (nouns) or
# ``base:past[:ing]`` (verbs); everything else is inflected by rule.
# ---------------------------------------------------------------------------

NAMES = _words("""
john mary david sarah michael emma james anna peter lucy tom kate paul laura
mark susan daniel rachel robert linda george helen jack emily sam alice ben
grace steve julia frank nancy henry olivia oliver sophie adam maria chris jane
""")

ROLES = _words("""
teacher doctor nurse farmer driver student friend neighbor child:children baby
boy girl man:men woman:women person:people worker waiter cook pilot artist
writer singer player lawyer manager guest stranger visitor captain soldier
king queen dentist baker painter officer clerk engineer scientist kid
""")

RELATIVES = _words("""
mother father brother sister uncle aunt cousin grandmother grandfather son
daughter wife husband mom dad boss
""")

THINGS = _words("""
book box bag key phone letter map cup glass bottle plate bowl spoon knife:knives
fork chair table lamp clock watch radio camera picture photo ticket coat hat
shirt shoe sock jacket dress umbrella pen pencil card gift ball toy bike car
truck boat ring wallet towel blanket pillow bucket basket rope ladder hammer
brush mirror window door computer newspaper magazine notebook bell candle flag
kite guitar piano drum shelf:shelves desk bed sofa fan stove carpet envelope
package button coin stamp wheel engine battery screen keyboard suitcase
backpack jar pot pan kettle bench
""")

COUNT_FOODS = _words("""
apple orange banana egg sandwich cake cookie potato:potatoes tomato:tomatoes
carrot onion pie pizza lemon peach pear cherry grape strawberry melon sausage
""")

MASS_FOODS = _words("""
bread cheese rice soup chicken fish meat pasta honey chocolate salad cereal
butter sugar salt jam cream
""")

DRINKS = _words("milk coffee tea juice water lemonade")

CONTAINERS = _entries("""
a cup of, a glass of, a bottle of, a bowl of, a piece of, a slice of,
a box of, a bag of, a plate of, a jar of
""")

ANIMALS = _words("""
dog cat horse cow pig sheep:sheep goat duck bird rabbit fox bear lion tiger
monkey elephant snake frog owl deer:deer squirrel turtle bee spider butterfly
donkey puppy kitten goose:geese whale dolphin crow mouse:mice wolf:wolves
""")

# Places you travel *to* ("went to the ...").
PLACES = _entries("""
park, store, shop, market, school, office, station, airport, beach, library,
hospital, bank, museum, church, river, lake, garden, farm, city, village,
restaurant, hotel, theater, cinema, zoo, gym, bakery, post office, bus stop,
train station, swimming pool, playground, mall, harbor, stadium, factory
""")

ROOMS = _entries("""
kitchen, bedroom, bathroom, garage, basement, hall, living room, attic, yard,
garden, office, car, closet, classroom
""")

OUTDOORS = _entries("""
forest, field, hill, mountain, valley, island, river, lake, pond, road, street,
bridge, yard, garden, meadow, woods
""")

EVENTS = _words("""
meeting party game concert class lesson trip show wedding dinner lunch
breakfast movie match festival exam interview picnic
""")

THING_ADJS = _words("""
big small little large old new red blue green yellow black white brown gray
pink purple heavy light clean dirty broken empty full cheap expensive strange
beautiful ugly nice long short tall wide narrow round square soft hard wooden
plastic shiny dark bright wet dry warm cold cool quiet loud simple fancy
favorite lovely tiny huge plain thick thin sharp smooth useful famous special
perfect rare golden silver
""")

FOOD_ADJS = _words("""
fresh sweet sour salty spicy delicious hot cold warm tasty ripe frozen
homemade crunchy
""")

STATE_ADJS = _words("""
happy sad tired angry hungry thirsty busy late early sick ready sure afraid
worried excited bored nervous proud calm quiet kind friendly funny clever brave
polite lucky sorry glad careful honest lazy strong weak rich poor famous
""")

WEATHER_ADJS = _words("sunny cloudy rainy windy cold warm hot foggy snowy cool wet dark")

MANNER_ADVS = _words("""
quickly slowly quietly loudly carefully happily suddenly finally gently easily
together alone again early late
""")

# Past-compatible times: past-tense templates use these, so no "tomorrow".
TIMES = _entries("""
yesterday, today, last night, last week, last year, this morning,
this afternoon, this evening,
in the morning, in the evening, at noon, at night, after lunch, before dinner,
after school, after work, two days ago, a week ago, on the weekend,
on monday, on tuesday, on wednesday, on thursday, on friday, on saturday,
on sunday, in january, in february, in march, in april, in may, in june,
in july, in august, in september, in october, in november, in december,
an hour ago, this summer, last winter, every spring
""")

HABITS = _entries("""
every day, every morning, every evening, every night, every week,
every sunday, every monday, every friday, twice a week, once a month,
on weekends, after dinner, before breakfast
""")

FUTURE_TIMES = _entries("""
tomorrow, tonight, next week, next month, next year, on friday, on sunday,
later, soon, this weekend, after lunch, in the morning
""")

NUMBERS = _words("two three four five six seven eight nine ten eleven twelve fifteen twenty")

QUANTIFIERS = _entries("a few, several, many, some, two, three, four, five, ten")

PREPS = _entries("on, under, near, behind, next to, in front of, beside, above, inside")

THING_VERBS = _entries("""
find:found, lose:lost, buy:bought, sell:sold, bring:brought, carry, take:took,
hold:held, open, close, clean, wash, fix, break:broke, paint, build:built, move,
drop:dropped:dropping, hide:hid, need, want, like, keep:kept, make:made, use,
check, leave:left, pick up, borrow, return, send:sent, fill, cover, wrap:wrapped:wrapping,
pack, push, pull, throw:threw, catch:caught, forget:forgot:forgetting, remember,
choose:chose, order, share, love, hate, touch, lift, turn, print, drag:dragged:dragging,
carry away, look for, put away:put away:putting away, bring back:brought back
""")

FOOD_VERBS = _entries("""
eat:ate, cook, buy:bought, order, want, like, love, share, taste, bake,
cut:cut:cutting, finish, make:made, bring:brought, try, heat, serve, smell,
need, find:found
""")

DRINK_VERBS = _entries("drink:drank, want, like, order, buy:bought, make:made, pour, finish")

ANIMAL_VERBS = _entries("""
see:saw, feed:fed, watch, follow, chase, hear:heard, find:found, catch:caught,
scare, draw:drew, count, wash, help, photograph, rescue, carry
""")

PERSON_VERBS = _entries("""
meet:met:meeting, call, help, visit, ask, thank, invite, follow, see:saw,
hear:heard, tell:told, answer, miss, hug, greet, trust, remember, wait for,
look for, talk to, write to:wrote to, listen to, pick up, drive:drove
""")

INTRANS_VERBS = _entries("""
walk, run:ran:running, sleep:slept, laugh, smile, wait, sing:sang, dance,
swim:swam:swimming, work, play, rest, cry, shout, leave:left, arrive, stay,
travel:traveled, jump, sit:sat:sitting, stand:stood, talk, listen, study,
read:read, write:wrote, win:won:winning, agree, cough, whisper, relax,
fall asleep:fell asleep, wake up:woke up, get up:got up:getting up, sit down:sat down:sitting down
""")

MOTION_VERBS = _entries("""
go:went, walk, drive:drove, run:ran:running, ride:rode, hurry, come back:came back,
return, fly:flew, travel:traveled, move, rush, get:got:getting
""")

ANIMAL_ACTIONS = _entries("""
sleep:slept, run:ran:running, jump, play, hide:hid, sit:sat:sitting, rest,
wait, eat:ate, swim:swam:swimming, dance, climb, stand:stood, dig:dug:digging
""")


# ---------------------------------------------------------------------------
# Inflection.
# ---------------------------------------------------------------------------

_VOWELS = set("aeiou")


def _split_head(entry: str) -> tuple:
    """Returns (head word, rest of phrase) of a possibly phrasal verb."""
    head, _, rest = entry.partition(" ")
    return head, (" " + rest) if rest else ""


class Verb:
    """A verb (possibly phrasal, e.g. ``wait for``) with its inflected forms.

    Attributes:
        base: Infinitive, e.g. ``look for``.
        third: Third person singular present, e.g. ``looks for``.
        past: Simple past, e.g. ``looked for``.
        ing: Present participle, e.g. ``looking for``.
    """

    _IRREGULAR_THIRD: ClassVar[dict[str, str]] = {"have": "has", "do": "does", "go": "goes"}

    def __init__(self, entry: str) -> None:
        parts = entry.split(":")
        self.base = parts[0]
        head, rest = _split_head(self.base)
        self.third = self._third(head) + rest
        self.past = parts[1] if len(parts) > 1 else self._past(head) + rest
        self.ing = parts[2] if len(parts) > 2 else self._ing(head) + rest

    @classmethod
    def _third(cls, word: str) -> str:
        if word in cls._IRREGULAR_THIRD:
            return cls._IRREGULAR_THIRD[word]
        if word.endswith(("s", "x", "z", "ch", "sh")):
            return word + "es"
        if word.endswith("y") and word[-2] not in _VOWELS:
            return word[:-1] + "ies"
        return word + "s"

    @staticmethod
    def _past(word: str) -> str:
        if word.endswith("e"):
            return word + "d"
        if word.endswith("y") and word[-2] not in _VOWELS:
            return word[:-1] + "ied"
        return word + "ed"

    @staticmethod
    def _ing(word: str) -> str:
        if word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
            return word[:-1] + "ing"
        return word + "ing"


class Noun:
    """A countable noun with singular and plural forms."""

    def __init__(self, entry: str) -> None:
        parts = entry.split(":")
        self.singular = parts[0]
        self.plural = parts[1] if len(parts) > 1 else self._plural(self.singular)

    @staticmethod
    def _plural(word: str) -> str:
        if word.endswith(("s", "x", "z", "ch", "sh")):
            return word + "es"
        if word.endswith("y") and word[-2] not in _VOWELS:
            return word[:-1] + "ies"
        return word + "s"


def _article(word: str) -> str:
    """Picks ``a``/``an`` by spelling, which is right for this vocabulary."""
    return "an" if word[0] in _VOWELS else "a"


# ---------------------------------------------------------------------------
# Generator.
# ---------------------------------------------------------------------------

Template = Callable[["SentenceGenerator"], list[str]]


class SentenceGenerator:
    """Samples sentences from the template grammar with a private RNG.

    Args:
        seed: Seed of the generator's own ``random.Random``; the same seed
            always yields the same sentence stream.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.roles = [Noun(e) for e in ROLES]
        self.things = [Noun(e) for e in THINGS]
        self.count_foods = [Noun(e) for e in COUNT_FOODS]
        self.animals = [Noun(e) for e in ANIMALS]
        self.thing_verbs = [Verb(e) for e in THING_VERBS]
        self.food_verbs = [Verb(e) for e in FOOD_VERBS]
        self.drink_verbs = [Verb(e) for e in DRINK_VERBS]
        self.animal_verbs = [Verb(e) for e in ANIMAL_VERBS]
        self.person_verbs = [Verb(e) for e in PERSON_VERBS]
        self.intrans_verbs = [Verb(e) for e in INTRANS_VERBS]
        self.motion_verbs = [Verb(e) for e in MOTION_VERBS]
        self.animal_actions = [Verb(e) for e in ANIMAL_ACTIONS]

    # -- small helpers ------------------------------------------------------
    def pick(self, items: Sequence):
        """Uniform choice from ``items``."""
        return self.rng.choice(items)

    def maybe(self, prob: float, make: Callable[[], str]) -> str:
        """Returns ``make()`` with probability ``prob``, else an empty string."""
        return make() if self.rng.random() < prob else ""

    # -- noun phrases -------------------------------------------------------
    def adj_noun(self, noun: str, adjs: Sequence[str], prob: float = 0.5) -> str:
        """Optionally prefixes ``noun`` with an adjective."""
        adj = self.maybe(prob, lambda: self.pick(adjs))
        return f"{adj} {noun}" if adj else noun

    def thing_np(self, plural_ok: bool = True) -> str:
        """A determiner phrase about an object, e.g. ``my old red bag``."""
        noun = self.pick(self.things)
        if plural_ok and self.rng.random() < 0.25:
            det = self.pick(["the", "some", "my", "your", "these", "those", "our"] + QUANTIFIERS)
            return f"{det} {self.adj_noun(noun.plural, THING_ADJS)}"
        phrase = self.adj_noun(noun.singular, THING_ADJS)
        det = self.pick(["the", "a", "my", "your", "his", "her", "our", "their", "this", "that"])
        return f"{_article(phrase) if det == 'a' else det} {phrase}"

    def food_np(self) -> str:
        """A food phrase, e.g. ``some fresh bread`` or ``two ripe pears``."""
        roll = self.rng.random()
        if roll < 0.35:
            phrase = self.adj_noun(self.pick(MASS_FOODS), FOOD_ADJS, 0.4)
            return f"{self.pick(['some', 'the', 'more', 'a lot of'])} {phrase}"
        if roll < 0.5:
            return f"{self.pick(CONTAINERS)} {self.pick(MASS_FOODS)}"
        noun = self.pick(self.count_foods)
        if roll < 0.75:
            phrase = self.adj_noun(noun.singular, FOOD_ADJS, 0.4)
            return f"{self.pick([_article(phrase), 'the', 'one'])} {phrase}"
        return f"{self.pick(QUANTIFIERS)} {self.adj_noun(noun.plural, FOOD_ADJS, 0.4)}"

    def drink_np(self) -> str:
        """A drink phrase, e.g. ``a cup of hot tea``."""
        drink = self.adj_noun(self.pick(DRINKS), ["hot", "cold", "warm", "fresh", "sweet"], 0.3)
        cont = self.pick(["a cup of", "a glass of", "a bottle of", "some", "the"])
        return f"{cont} {drink}"

    def animal_np(self, plural_ok: bool = True) -> str:
        """An animal phrase, e.g. ``the little brown dog``."""
        noun = self.pick(self.animals)
        adjs = THING_ADJS[:20] + ["friendly", "hungry", "lazy", "angry", "wild", "young"]
        if plural_ok and self.rng.random() < 0.25:
            det = self.pick(["the", "some", "two", "three", "many", "a few"])
            return f"{det} {self.adj_noun(noun.plural, adjs, 0.4)}"
        phrase = self.adj_noun(noun.singular, adjs, 0.4)
        det = self.pick(["the", "a", "my", "our", "that", "their"])
        return f"{_article(phrase) if det == 'a' else det} {phrase}"

    def person_np(self) -> str:
        """A singular person, e.g. ``mary``, ``my uncle``, ``the new teacher``."""
        roll = self.rng.random()
        if roll < 0.35:
            return self.pick(NAMES)
        if roll < 0.6:
            return f"{self.pick(['my', 'your', 'his', 'her', 'our'])} {self.pick(RELATIVES)}"
        role = self.adj_noun(
            self.pick(self.roles).singular, ["old", "young", "new", "tall", "kind", "friendly", "tired"], 0.3
        )
        det = self.pick(["the", "a", "our", "that"])
        return f"{_article(role) if det == 'a' else det} {role}"

    def subject(self) -> str:
        """Any subject for past-tense clauses (no agreement needed)."""
        if self.rng.random() < 0.35:
            return self.pick(["i", "we", "they", "he", "she", "you"])
        return self.person_np()

    def place(self) -> str:
        """``the <place>`` or ``home``."""
        return "home" if self.rng.random() < 0.05 else f"the {self.pick(PLACES)}"

    def time(self, prob: float = 0.5) -> str:
        """An optional time expression."""
        return self.maybe(prob, lambda: self.pick(TIMES))

    # -- templates ----------------------------------------------------------
    def t_thing_past(self) -> list[str]:
        loc = self.maybe(0.3, lambda: f"in the {self.pick(ROOMS)}")
        return [self.subject(), self.pick(self.thing_verbs).past, self.thing_np(), loc, self.time(0.4)]

    def t_food_past(self) -> list[str]:
        shops = ["market", "store", "bakery", "restaurant", "party", "picnic"]
        loc = self.maybe(0.25, lambda: f"at the {self.pick(shops)}")
        verb = self.pick(self.food_verbs)
        return [self.subject(), verb.past, self.food_np(), loc, self.time(0.4)]

    def t_drink_past(self) -> list[str]:
        return [self.subject(), self.pick(self.drink_verbs).past, self.drink_np(), self.time(0.6)]

    def t_motion_past(self) -> list[str]:
        verb = self.pick(self.motion_verbs)
        dest = self.place()
        prep = "" if dest == "home" else "to"
        return [self.subject(), verb.past, prep, dest, self.time(0.6)]

    def t_two_names(self) -> list[str]:
        a, b = self.rng.sample(NAMES, 2)
        verb = self.pick(self.motion_verbs)
        return [a, "and", b, verb.past, "to", f"the {self.pick(PLACES)}", self.time(0.5)]

    def t_intrans_past(self) -> list[str]:
        adv = self.maybe(0.4, lambda: self.pick(MANNER_ADVS))
        return [self.subject(), self.pick(self.intrans_verbs).past, adv, self.time(0.5)]

    def t_habit(self) -> list[str]:
        if self.rng.random() < 0.5:
            third_person = self.person_np() if self.rng.random() < 0.6 else self.pick(["he", "she"])
            subj, form = third_person, "third"
        else:
            subj, form = self.pick(["i", "we", "they", "you"]), "base"
        kind = self.rng.random()
        if kind < 0.4:
            verb, obj = self.pick(self.thing_verbs), self.thing_np()
        elif kind < 0.7:
            verb, obj = self.pick(self.food_verbs), self.food_np()
        else:
            verb, obj = self.pick(self.person_verbs), self.person_np()
        return [subj, getattr(verb, form), obj, self.pick(HABITS)]

    def t_think(self) -> list[str]:
        lead = self.pick(
            [
                "i think",
                "she said",
                "he told me",
                "we heard",
                "they know",
                "i'm sure",
                "it seems",
                "i guess",
                "nobody knew",
            ]
        )
        that = self.maybe(0.3, lambda: "that")
        body = self.pick([self.t_thing_past, self.t_intrans_past, self.t_motion_past])()
        return [lead, that] + body

    def t_want_to(self) -> list[str]:
        verb, obj = self._verb_obj()
        lead = self.pick(
            [
                "do you want to",
                "i want to",
                "we need to",
                "they have to",
                "she wants to",
                "he needs to",
                "would you like to",
                "i'd like to",
                "you should",
                "we could",
                "let's",
            ]
        )
        return [lead, verb.base, obj, self.maybe(0.4, lambda: self.pick(FUTURE_TIMES))]

    def t_request(self) -> list[str]:
        verb, obj = self._verb_obj(food=False)
        lead = self.pick(["can you", "could you", "please", "will you", "don't", "don't forget to"])
        tail = self.maybe(0.3, lambda: self.pick(["please", "for me", "now", "again", "right now"]))
        return [lead, verb.base, obj, tail]

    def t_put(self) -> list[str]:
        lead = self.pick(["please put", "i put", "she put", "don't put", "they left", "we found", "he saw", "i lost"])
        thing = self.thing_np()
        prep = self.pick(PREPS)
        return [lead, thing, prep, f"the {self.pick(self.things).singular}"]

    def t_there_is(self) -> list[str]:
        if self.rng.random() < 0.5:
            noun = self.pick(self.things + self.animals)
            phrase = self.adj_noun(noun.singular, THING_ADJS, 0.6)
            head = [self.pick(["there is", "there's", "there was"]), f"{_article(phrase)} {phrase}"]
        else:
            noun = self.pick(self.things + self.animals + self.count_foods)
            head = [
                self.pick(["there are", "there were"]),
                self.pick([*NUMBERS, "some", "many", "no"]),
                self.adj_noun(noun.plural, THING_ADJS, 0.3),
            ]
        where = self.pick(
            [
                f"in the {self.pick(ROOMS)}",
                f"{self.pick(PREPS)} the {self.pick(self.things).singular}",
                f"near the {self.pick(OUTDOORS)}",
            ]
        )
        return head + [where]

    def t_is_adj(self) -> list[str]:
        noun = self.pick(self.things + self.count_foods)
        verb = self.pick(["is", "was", "looks", "seems", "isn't", "wasn't"])
        adv = self.maybe(0.4, lambda: self.pick(["very", "really", "too", "quite", "a bit", "so"]))
        adjs = FOOD_ADJS if noun in self.count_foods else THING_ADJS
        return [
            self.pick(["the", "this", "that", "my", "your"]),
            noun.singular,
            verb,
            adv,
            self.pick(adjs),
            self.time(0.2),
        ]

    def t_person_state(self) -> list[str]:
        subj_verb = self.pick(
            [
                (self.person_np(), self.pick(["is", "was", "looks", "seems", "felt", "isn't"])),
                ("i", self.pick(["am", "was", "feel", "felt"])),
                ("i'm", ""),
                (self.pick(["we", "they", "you"]), self.pick(["are", "were", "look", "aren't", "weren't"])),
                (self.pick(["we're", "they're", "you're", "she's", "he's"]), ""),
            ]
        )
        adv = self.maybe(0.4, lambda: self.pick(["very", "really", "so", "a little", "too"]))
        why = self.maybe(
            0.4, lambda: self.pick(TIMES + ["after the " + self.pick(EVENTS), "about the " + self.pick(EVENTS)])
        )
        return [subj_verb[0], subj_verb[1], adv, self.pick(STATE_ADJS), why]

    def t_weather(self) -> list[str]:
        lead = self.pick(["it's", "it was", "it will be", "it is", "it isn't", "it wasn't"])
        adv = self.maybe(0.4, lambda: self.pick(["very", "really", "quite", "so", "too"]))
        tail = self.pick(
            [
                "today",
                "outside",
                "this morning",
                "in the city",
                "all day",
                "at the beach",
                "in the mountains",
                "tonight",
                "this week",
                "near the lake",
                "again",
            ]
        )
        extra = self.maybe(0.3, lambda: f"so we stayed {self.pick(['home', 'inside'])}")
        return [lead, adv, self.pick(WEATHER_ADJS), tail, extra]

    def t_how_many(self) -> list[str]:
        noun = self.pick(self.things + self.count_foods + self.animals)
        aux = self.pick(["did you", "did they", "do we", "does she", "can you", "did he"])
        verb = self.pick(["buy", "need", "see", "find", "want", "count", "have", "bring", "sell"])
        return ["how many", noun.plural, aux, verb, self.maybe(0.3, lambda: self.pick(TIMES))]

    def t_wh_question(self) -> list[str]:
        wh = self.pick(["where did", "when did", "why did", "how did", "where do", "why do"])
        subj = self.pick(["you", "they", "we", "he", "she", "your " + self.pick(RELATIVES), self.pick(NAMES)])
        verb, obj = self._verb_obj(food=False)
        return [wh, subj, verb.base, obj]

    def t_where_is(self) -> list[str]:
        lead = self.pick(
            [
                "where is",
                "where's",
                "have you seen",
                "i can't find",
                "who took",
                "did anyone see",
                "i don't know where i left",
            ]
        )
        return [lead, self.thing_np(plural_ok=False)]

    def t_job(self) -> list[str]:
        role = self.pick(self.roles).singular
        subj = self.pick([f"my {self.pick(RELATIVES)}", self.pick(NAMES), "she", "he"])
        verb = self.pick(["works as", "worked as", "is", "was", "wants to be", "became"])
        where = self.maybe(0.5, lambda: f"at the {self.pick(PLACES)}")
        return [subj, verb, _article(role), role, where]

    def t_going_to(self) -> list[str]:
        subj = self.pick(
            ["i'm", "we're", "they're", "you're", "she's", "he's", "i am", "we are", f"{self.pick(NAMES)} is"]
        )
        verb, obj = self._verb_obj()
        return [subj, "going to", verb.base, obj, self.maybe(0.5, lambda: self.pick(FUTURE_TIMES))]

    def t_will(self) -> list[str]:
        subj = self.pick(
            [
                "i'll",
                "we'll",
                "they'll",
                "she'll",
                "he'll",
                "you'll",
                "i will",
                "we won't",
                "they won't",
                "i won't",
                self.person_np() + " will",
            ]
        )
        verb, obj = self._verb_obj()
        return [subj, verb.base, obj, self.pick(FUTURE_TIMES)]

    def t_negative(self) -> list[str]:
        subj, aux = self.pick(
            [
                ("i", "don't"),
                ("i", "didn't"),
                ("we", "don't"),
                ("they", "didn't"),
                ("she", "doesn't"),
                ("he", "didn't"),
                ("you", "can't"),
                ("i", "can't"),
                (self.pick(NAMES), "doesn't"),
                (self.pick(NAMES), "didn't"),
                ("we", "couldn't"),
            ]
        )
        verb, obj = self._verb_obj()
        return [subj, aux, verb.base, obj, self.time(0.3)]

    def t_progressive(self) -> list[str]:
        subj = self.pick(
            [
                "i'm",
                "we're",
                "they're",
                "she's",
                "he's",
                "you're",
                "i was",
                "we were",
                f"{self.pick(NAMES)} was",
                f"{self.person_np()} is",
            ]
        )
        verb, obj = self._verb_obj()
        tail = self.pick(
            ["right now", "at the moment", "when you called", "all morning", "in the " + self.pick(ROOMS), ""]
        )
        return [subj, verb.ing, obj, tail]

    def t_intrans_progressive(self) -> list[str]:
        subj = self.pick(
            [
                "i'm",
                "we're",
                "they're",
                "she's",
                "he's",
                "the children are",
                f"{self.pick(NAMES)} was",
                f"{self.person_np()} is",
            ]
        )
        where = self.pick(
            [f"in the {self.pick(ROOMS)}", f"at the {self.pick(PLACES)}", f"near the {self.pick(OUTDOORS)}", ""]
        )
        return [subj, self.pick(self.intrans_verbs).ing, where, self.time(0.3)]

    def t_animal(self) -> list[str]:
        verb = self.pick(self.animal_actions)
        where = f"{self.pick(['in', 'near', 'by', 'across', 'behind'])} the {self.pick(OUTDOORS)}"
        return [self.animal_np(), verb.past, where, self.time(0.3)]

    def t_animal_obj(self) -> list[str]:
        spots = [*OUTDOORS, "zoo", "farm", "park"]
        where = self.maybe(0.4, lambda: f"{self.pick(['in', 'near', 'at'])} the {self.pick(spots)}")
        verb = self.pick(self.animal_verbs)
        return [self.subject(), verb.past, self.animal_np(), where, self.time(0.3)]

    def t_met(self) -> list[str]:
        where = self.maybe(0.5, lambda: f"at the {self.pick(PLACES)}")
        verb = self.pick(self.person_verbs)
        return [self.subject(), verb.past, self.person_np(), where, self.time(0.4)]

    def t_contrast(self) -> list[str]:
        a, b = self.rng.sample(self.things, 2)
        v = self.pick(["was", "is"])
        return ["the", a.singular, v, self.pick(THING_ADJS), "but the", b.singular, v, self.pick(THING_ADJS)]

    def t_need_for(self) -> list[str]:
        subj = self.pick(
            ["we need", "i need", "they bought", "she brought", "he found", "we ordered", "you should bring"]
        )
        noun = self.pick(self.things + self.count_foods)
        return [subj, self.pick(NUMBERS + ["some", "more", "a few"]), noun.plural, "for the", self.pick(EVENTS)]

    def t_event_time(self) -> list[str]:
        event = self.pick(EVENTS)
        return self.pick(
            [
                ["what time does the", event, "start"],
                [
                    "the",
                    event,
                    self.pick(["starts", "ends", "started", "ended", "was moved"]),
                    self.pick(["at noon", "at night", "early", "late"] + TIMES),
                ],
                ["are you coming to the", event, self.pick(FUTURE_TIMES)],
                [
                    "we missed the",
                    event,
                    "because",
                    self.pick(["it was raining", "the car broke", "we were late", "i was sick"]),
                ],
            ]
        )

    def t_and_then(self) -> list[str]:
        first = [self.pick(["i", "we", "they", "she", "he"]), self.pick(self.intrans_verbs).past]
        verb, obj = self._verb_obj()
        return first + ["and then", verb.past, obj]

    def t_lets(self) -> list[str]:
        return self.pick(
            [
                ["let's go to", self.place(), self.maybe(0.5, lambda: self.pick(FUTURE_TIMES))],
                [
                    "let's",
                    self.pick(self.intrans_verbs).base,
                    self.pick(["together", "outside", "for a while", "here"]),
                ],
                ["why don't we", self.pick(self.motion_verbs).base, "to", f"the {self.pick(PLACES)}"],
            ]
        )

    def _verb_obj(self, food: bool = True):
        """Picks a verb with a semantically compatible object phrase."""
        roll = self.rng.random()
        if food and roll < 0.25:
            return self.pick(self.food_verbs), self.food_np()
        if roll < 0.35:
            return self.pick(self.person_verbs), self.person_np()
        if roll < 0.45:
            return self.pick(self.animal_verbs), self.animal_np()
        return self.pick(self.thing_verbs), self.thing_np()

    # -- public API ---------------------------------------------------------
    def templates(self) -> list[Template]:
        """All template methods; weights come from listing some twice."""
        names = [n for n in dir(self) if n.startswith("t_")]
        common = ["t_thing_past", "t_food_past", "t_motion_past", "t_met", "t_habit"]
        return [getattr(self, n) for n in sorted(names) + common]

    def sentence(self) -> str:
        """Samples one sentence with MIN_WORDS..MAX_WORDS words."""
        templates = self.templates()
        while True:
            parts = self.pick(templates)()
            text = " ".join(" ".join(p for p in parts if p).split())
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                assert _VALID_TRANSCRIPT.match(text), text
                return text


def generate_splits(
    num_train: int, num_dev: int, num_test: int, seed: int, exclude: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Draws unique sentences and assigns them to splits.

    Test is drawn first, then dev, then train, so the held-out sentences for a
    seed do not change when ``num_train`` changes. Every sentence appears at
    most once in the whole corpus, which makes the splits exactly disjoint.

    Args:
        num_train: Number of training sentences.
        num_dev: Number of dev sentences.
        num_test: Number of test sentences.
        seed: Seed of the sentence generator.
        exclude: Sentences that must not be produced at all.

    Returns:
        Mapping ``{"test": [...], "dev": [...], "train": [...]}``.

    Raises:
        RuntimeError: If the grammar cannot produce enough unique sentences.
    """
    gen = SentenceGenerator(seed)
    seen: set[str] = set(exclude or ())
    splits: dict[str, list[str]] = {}
    for split, count in (("test", num_test), ("dev", num_dev), ("train", num_train)):
        splits[split] = []
        misses = 0
        while len(splits[split]) < count:
            text = gen.sentence()
            if text in seen:
                misses += 1
                if misses > 100 * count + 1000:  # Guards against an exhausted grammar.
                    raise RuntimeError("grammar ran out of unique sentences")
                continue
            seen.add(text)
            splits[split].append(text)
    return splits


def word_coverage(reference: Iterable[str], held_out: Iterable[str]) -> float:
    """Fraction of word tokens in ``held_out`` that occur in ``reference``.

    Args:
        reference: Sentences whose word types define the known vocabulary.
        held_out: Sentences whose tokens are checked.

    Returns:
        Coverage in [0, 1]; 1.0 if ``held_out`` has no tokens.
    """
    known = {w for s in reference for w in s.split()}
    tokens = [w for s in held_out for w in s.split()]
    return sum(w in known for w in tokens) / len(tokens) if tokens else 1.0
