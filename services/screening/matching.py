"""Matching partner names against restricted-party names, vectorised (pandas joins, no loop per partner).

A match is a candidate for an analyst, never a verdict. Names are compared after ``normalize_name`` (no accents,
punctuation or legal forms such as Co., Ltd.), in three ways, strongest first:
- same name: the partner's name equals a listed name or alias;
- same words, other order: the same words in another order;
- all words of the listed name: the partner's name contains every word of a listed name of two words or more
  (e.g. a listed parent company inside a subsidiary's name).
"""

import pandas as pd

from services.partners.identifiers import normalize_name

KINDS = ("same name", "same words, other order", "all words of the listed name")
MATCH_COLUMNS = ["partner_id", "entry_id", "matched_name", "match_kind"]


def _tokens(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """One row per (id, word) of the normalised names."""
    words = frame[["_id", "normalized_name"]].assign(word=frame["normalized_name"].str.split())
    words = words.explode("word").dropna(subset=["word"])
    return words[["_id", "word"]].drop_duplicates().rename(columns={"_id": id_column})


def find_matches(partners: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Candidate matches, one per partner and entry with its strongest kind.

    `partners` has partner_id and normalized_name; `names` has entry_id, name (as listed) and normalized_name.
    """
    if partners.empty or names.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    p = partners[["partner_id", "normalized_name"]].copy()
    p = p[p["normalized_name"].str.len() > 0].reset_index(drop=True)
    n = names[["entry_id", "name", "normalized_name"]].copy()
    n = n[n["normalized_name"].str.len() > 0].reset_index(drop=True)
    p["_id"], n["_id"] = p.index, n.index
    found = []

    exact = p.merge(n, on="normalized_name")
    found.append(exact.assign(match_kind=KINDS[0]))

    p["_sorted"] = p["normalized_name"].str.split().map(lambda w: " ".join(sorted(w)))
    n["_sorted"] = n["normalized_name"].str.split().map(lambda w: " ".join(sorted(w)))
    reordered = p.merge(n, on="_sorted", suffixes=("", "_n"))
    found.append(reordered.assign(match_kind=KINDS[1]))

    # Contains every word: join each listed name to the partners sharing its rarest word, then count shared words.
    p_words = _tokens(p, "p")
    n["_count"] = n["normalized_name"].str.split().map(len)
    long_names = n[n["_count"] >= 2]
    if not long_names.empty and not p_words.empty:
        n_words = _tokens(long_names, "n")
        frequency = p_words["word"].value_counts()
        n_words["_freq"] = n_words["word"].map(frequency).fillna(0)
        rarest = n_words.sort_values(["n", "_freq"], kind="stable").drop_duplicates("n")
        rarest = rarest[rarest["_freq"] > 0]
        pairs = rarest[["n", "word"]].merge(p_words, on="word")[["n", "p"]].drop_duplicates()
        if not pairs.empty:
            shared = pairs.merge(n_words[["n", "word"]], on="n").merge(p_words, on=["p", "word"])
            counts = shared.groupby(["n", "p"]).size().rename("_shared").reset_index()
            counts = counts.merge(n[["_id", "_count"]], left_on="n", right_on="_id")
            whole = counts[counts["_shared"] == counts["_count"]]
            contained = whole[["n", "p"]].merge(p[["_id", "partner_id"]], left_on="p", right_on="_id") \
                .merge(n[["_id", "entry_id", "name"]], left_on="n", right_on="_id")
            found.append(contained.assign(match_kind=KINDS[2]))

    frame = pd.concat([f[["partner_id", "entry_id", "name", "match_kind"]] for f in found], ignore_index=True)
    frame["_rank"] = frame["match_kind"].map({k: i for i, k in enumerate(KINDS)})
    frame = frame.sort_values(["partner_id", "entry_id", "_rank"], kind="stable")
    frame = frame.drop_duplicates(["partner_id", "entry_id"])
    return frame.rename(columns={"name": "matched_name"})[MATCH_COLUMNS].reset_index(drop=True)


def normalized(names: pd.Series) -> pd.Series:
    """``normalize_name`` over a column (once per distinct name)."""
    unique = pd.Series(names.unique())
    table = dict(zip(unique, unique.map(normalize_name), strict=True))
    return names.map(table)
