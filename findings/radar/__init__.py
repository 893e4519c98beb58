"""The gap radar: Lotse proposes findings from its own data over a period, each with the
figures that support it. Coordinators accept a proposal as a finding or dismiss it.

Four kinds of proposal, each with a rule a coordinator can check by hand:

- **Pressure** (declines for lack of capacity, waitlists, expiries). A referral sent in the
  period is *under pressure* when it was declined with the reason ``no_capacity``, expired
  unanswered, or is on hold on a waiting list. Referrals are grouped by topic (the need the case
  manager recorded, else the service's first category) and district (the districts of the
  service's locations). A group is proposed when it holds at least ``MIN_PRESSURE`` referrals
  under pressure *and* its share under pressure is at least ``PRESSURE_FACTOR`` times the
  period's overall share (all referrals sent in the period). With no pressure at all in the
  period nothing is proposed.
- **Searches that keep finding nothing** (the search log of ``directory/``). Each query is
  folded like the search index folds it (case, umlauts, accents, other scripts to Latin), its
  words are replaced by their synonym group's first word, and it is matched against the
  taxonomy's names and the synonym table's phrases in every language: queries that ask for the
  same category are one cluster, whatever their language. The others cluster by near spelling
  (rapidfuzz ``token_sort_ratio`` ≥ ``SPELLING_SIMILARITY``). A cluster of at least
  ``MIN_SEARCHES`` searches is proposed.
- **Slow services**. A referral's response time is the time from sending to the receiving
  partner's first answer (accepted, declined or put on hold). For each topic, a service with at
  least ``MIN_RESPONSES`` answers is proposed when its median response time is more than
  ``SLOWNESS_FACTOR`` times the median of all answers of its peers (the other services of the
  topic, together at least ``MIN_RESPONSES`` answers).
- **Coverage**. For a topic and a target group, a grid of square cells (``cell_km``) over the
  city's bounding box (the directory's physical locations and the districts' centres); a cell is
  a gap when its centre is farther than ``distance_km`` from every open offer (active, listed,
  of the topic or one of its sub-topics, for the target group or for everyone). A district whose
  centre lies farther than ``distance_km`` from every open offer is proposed.

A proposal has a key (what it is about) and an evidence hash (the ids it rests on): a decision
is stored for both, so a dismissed proposal comes back only when its evidence changed.
"""
