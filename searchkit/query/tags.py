"""PubMed's field tags and searchkit's ``field:value`` prefixes, and the field key
each stands for in the syntax tree (:mod:`searchkit.query.syntax`); the tags searchkit
cannot search, each with the reason a query using one is refused."""

from __future__ import annotations

#: The key of PubMed's ``[Filter]`` tag: the words before it name a filter.
FILTER_KEY = "filter"
#: The word PubMed reads as its "Abstract" filter (records with an abstract).
HAS_ABSTRACT = "hasabstract"

#: PubMed field tags (lower case), short and long forms → the field key of the tree.
TAGS: dict[str, str] = {
    "ti": "title",
    "title": "title",
    "ab": "abstract",
    "abstract": "abstract",
    "tiab": "tiab",
    "title/abstract": "tiab",
    "tw": "textword",
    "text word": "textword",
    "text words": "textword",
    "all": "all",
    "all fields": "all",
    "au": "author",
    "author": "author",
    "fau": "author",
    "full author name": "author",
    "author - full": "author",
    "1au": "first_author",
    "first author name": "first_author",
    "author - first": "first_author",
    "lastau": "last_author",
    "last author name": "last_author",
    "author - last": "last_author",
    "cn": "collective",
    "corporate author": "collective",
    "author - corporate": "collective",
    "ad": "affiliation",
    "affiliation": "affiliation",
    "mh": "mesh",
    "mesh": "mesh",
    "mesh terms": "mesh",
    "majr": "majr",
    "mesh major topic": "majr",
    "mh:noexp": "mesh_noexp",
    "mesh:noexp": "mesh_noexp",
    "mesh terms:noexp": "mesh_noexp",
    "majr:noexp": "majr_noexp",
    "mesh major topic:noexp": "majr_noexp",
    "sh": "subheading",
    "mesh subheading": "subheading",
    "ot": "keyword",
    "kw": "keyword",
    "keyword": "keyword",
    "other term": "keyword",
    "ta": "journal",
    "jour": "journal",
    "journal": "journal",
    "vi": "volume",
    "volume": "volume",
    "ip": "issue",
    "issue": "issue",
    "pg": "pages",
    "pagination": "pages",
    "is": "issn",
    "issn": "issn",
    "doi": "doi",
    "aid": "doi",
    "article identifier": "doi",
    "lid": "doi",
    "location id": "doi",
    "pmcid": "pmcid",
    "dp": "pdat",
    "pdat": "pdat",
    "publication date": "pdat",
    "date - publication": "pdat",
    "edat": "edat",
    "entrez date": "edat",
    "date - entrez": "edat",
    "crdt": "crdt",
    "create date": "crdt",
    "date - create": "crdt",
    "mhda": "mhda",
    "mesh date": "mhda",
    "date - mesh": "mhda",
    "pt": "pubtype",
    "publication type": "pubtype",
    "pmid": "pmid",
    "uid": "pmid",
    "lang": "language",
    "la": "language",
    "language": "language",
    # PubMed's sidebar filters (searchkit.query.filters): resolved by the parser.
    "filter": FILTER_KEY,
    "filters": FILTER_KEY,
    # The field names of NCBI's E-utilities (einfo -db pubmed), which PubMed reads as
    # tags too: esearch terms built by scripts, and strategies saved from PubMed's
    # former Limits page (Review[ptyp]). Those that are also PubMed tags (tiab, majr,
    # mesh, jour, lang, pdat, edat, crdt, mhda, lid, uid, all) are above.
    "titl": "title",
    "word": "textword",
    "auth": "author",
    "full": "author",
    "faut": "first_author",
    "laut": "last_author",
    "coln": "collective",
    "affl": "affiliation",
    "subh": "subheading",
    "otrm": "keyword",
    "ptyp": "pubtype",
    "vol": "volume",
    "iss": "issue",
    "page": "pages",
    "filt": FILTER_KEY,
}


#: PubMed field tags that searchkit cannot search, each with the reason (the data is
#: not in the records searchkit reads, or needs NLM data no package ships). A query
#: using one is an error that says so, never a silent reinterpretation.
UNSUPPORTED_TAGS: dict[str, str] = {
    "auid": "author identifiers (ORCID) are not stored",
    "author identifier": "author identifiers (ORCID) are not stored",
    "book": "book and chapter details are not stored",
    "cois": "conflict of interest statements are not stored",
    "conflict of interest statement": "conflict of interest statements are not stored",
    "dcom": "the completion date is not stored",
    "completion date": "the completion date is not stored",
    "ed": "book editors are not stored",
    "editor": "book editors are not stored",
    "sb": "PubMed's subsets are NLM search strategies that are not shipped",
    "subset": "PubMed's subsets are NLM search strategies that are not shipped",
    "gr": "grant numbers are not stored",
    "grants and funding": "grant numbers are not stored",
    "ir": "investigators are not stored",
    "investigator": "investigators are not stored",
    "fir": "investigators are not stored",
    "full investigator name": "investigators are not stored",
    "isbn": "book ISBNs are not stored",
    "jid": "NLM journal ids are not stored (search the journal with [ta])",
    "nlm unique id": "NLM journal ids are not stored (search the journal with [ta])",
    "lr": "the modification date is not stored",
    "modification date": "the modification date is not stored",
    "nm": "supplementary concepts are not stored",
    "supplementary concept": "supplementary concepts are not stored",
    "pa": "pharmacological actions need NLM's MeSH data, which is not loaded",
    "pharmacological action": "pharmacological actions need NLM's MeSH data, which is not loaded",
    "pl": "the journal's country is not stored",
    "place of publication": "the journal's country is not stored",
    "ps": "personal names as subject are not stored",
    "personal name as subject": "personal names as subject are not stored",
    "pubn": "book publishers are not stored",
    "publisher": "book publishers are not stored",
    "rn": "EC/RN numbers (substances) are not stored",
    "ec/rn number": "EC/RN numbers (substances) are not stored",
    "si": "secondary source ids (databanks) are not stored",
    "secondary source id": "secondary source ids (databanks) are not stored",
    "tt": "transliterated titles are not stored",
    "transliterated title": "transliterated titles are not stored",
    # E-utilities field names of the same fields (see TAGS).
    "aucl": "PubMed's computed author clusters are not stored",
    "cdat": "the completion date is not stored",
    "mdat": "the modification date is not stored",
    "grnt": "grant numbers are not stored",
    "invr": "investigators are not stored",
    "finv": "investigators are not stored",
    "subs": "supplementary concepts are not stored",
    "ecno": "EC/RN numbers (substances) are not stored",
    "papx": "pharmacological actions need NLM's MeSH data, which is not loaded",
    "cnty": "the journal's country is not stored",
}
#: Keys whose values are record identifiers, each matched whole
#: (:mod:`searchkit.query.identifiers`), and how messages name them.
ID_KEYS = frozenset({"pmid", "doi", "pmcid"})
ID_NAMES = {"pmid": "PMIDs", "doi": "DOIs", "pmcid": "PMC ids"}
#: Identifier keys matched only whole: a DOI may be truncated (a prefix of it).
WHOLE_ID_KEYS = frozenset({"pmid", "pmcid"})
#: Keys whose fields hold text (the text analyzer's terms and positions).
TEXT_KEYS = frozenset({"title", "abstract", "tiab", "textword", "keyword"})
#: Keys searched as dates ("YYYY[/MM[/DD]]" or a range of them).
DATE_KEYS = frozenset({"pdat", "edat", "crdt", "mhda"})
#: Keys a proximity tag ``[tiab:~N]`` may name (PubMed's: title, title/abstract and
#: affiliation; the abstract alone too).
PROXIMITY_KEYS = frozenset({"title", "abstract", "tiab", "affiliation"})

# ``field:value`` prefixes → field key.
PREFIXES: dict[str, str] = {
    "title": "title",
    "abstract": "abstract",
    "tiab": "tiab",
    "author": "author",
    "mesh": "mesh",
    "majr": "majr",
    "keyword": "keyword",
    "journal": "journal",
    "year": "year",
    "type": "pubtype",
    "pmid": "pmid",
    "lang": "language",
    "language": "language",
    "affiliation": "affiliation",
    "doi": "doi",
    "pmcid": "pmcid",
    "volume": "volume",
    "issue": "issue",
    "pages": "pages",
    "issn": "issn",
}
