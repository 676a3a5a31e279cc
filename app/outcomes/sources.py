"""Where each instrument's scoring rule and MCID come from (served in the instrument catalogue).

Kept apart from the scoring code so the citations read as one list; docs/instrument-sources.md gives the
reasoning behind the choices that are not obvious (SPADI total, HIT-6 and RMDQ MCIDs, VISA-A item 8).
"""

from __future__ import annotations

SOURCES: dict[str, dict[str, str]] = {
    "nprs": {
        "scoring_rule": "the single 0-10 rating",
        "scoring_source": "Jensen MP, Karoly P, Braver S. The measurement of clinical pain intensity. Pain "
                          "1986;27:117-126",
        "mcid_source": "Farrar JT et al. Clinical importance of changes in chronic pain intensity measured on an "
                       "11-point NPRS. Pain 2001;94:149-158 (2 points / 30%); Childs JD et al. Spine "
                       "2005;30:1331-1334 (2 points in low back pain)",
    },
    "psfs": {
        "scoring_rule": "mean of the 3-5 patient-named activities, each 0-10",
        "scoring_source": "Stratford P et al. Assessing disability and change on individual patients: a report of "
                          "a patient specific measure. Physiother Can 1995;47:258-263",
        "mcid_source": "Stratford et al. 1995 (2 points for the averaged score); Abbott JH, Schmitt J. JOSPT "
                       "2014;44:560-564 report 1.3-2.7 depending on the size of change",
    },
    "odi": {
        "scoring_rule": "sum / (5 x sections answered) x 100; at most 1 section unanswered",
        "scoring_source": "Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25:2940-2953 "
                          "(version 2.1a)",
        "mcid_source": "Ostelo RWJG et al. Interpreting change scores for pain and functional status in low back "
                       "pain. Spine 2008;33:90-94 (10 points)",
    },
    "rmdq": {
        "scoring_rule": "count of 'yes' answers (0-24)",
        "scoring_source": "Roland M, Morris R. A study of the natural history of back pain. Part I. Spine "
                          "1983;8:141-144",
        "mcid_source": "Ostelo RWJG et al. Spine 2008;33:90-94, the international consensus on minimal "
                       "important change (5 points, or 30% improvement from baseline)",
    },
    "ndi": {
        "scoring_rule": "sum of 10 sections (0-50); with 1 section unanswered, prorated to 50; percent = "
                        "sum / (5 x answered) x 100",
        "scoring_source": "Vernon H, Mior S. The Neck Disability Index: a study of reliability and validity. "
                          "J Manipulative Physiol Ther 1991;14:409-415; Vernon H, NDI user manual (2008)",
        "mcid_source": "Young BA et al. Responsiveness of the Neck Disability Index in patients with mechanical "
                       "neck disorders. Spine J 2009;9:802-808 (7.5 points)",
    },
    "quickdash": {
        "scoring_rule": "((sum / items answered) - 1) x 25; at least 10 of 11 items answered",
        "scoring_source": "Institute for Work & Health. The QuickDASH outcome measure, scoring instructions "
                          "(2006); Beaton DE et al. J Bone Joint Surg Am 2005;87:1038-1046",
        "mcid_source": "Polson K et al. Responsiveness, minimal importance difference and minimal detectable "
                       "change scores of the shortened disability arm shoulder hand (QuickDASH) questionnaire. "
                       "Man Ther 2010;15:404-407 (15.9 points)",
    },
    "prtee": {
        "scoring_rule": "pain = sum of items 1-5 (0-50); function = sum of items 6-15 / 2 (0-50); total = pain + "
                        "function; 1 missing item per subscale takes that subscale's mean",
        "scoring_source": "MacDermid JC. The Patient-Rated Tennis Elbow Evaluation (PRTEE) user manual (2007)",
        "mcid_source": "Poltawski L, Watson T. Measuring clinically important change with the Patient-rated "
                       "Tennis Elbow Evaluation. Hand Therapy 2011;16:52-57 (11 points)",
    },
    "spadi": {
        "scoring_rule": "total = sum of all answered items / (10 x items answered) x 100 (the /130 total); "
                        "pain = items 1-5 / 50, disability = items 6-13 / 80, each x 100, divided by the "
                        "possible score of the answered items; at most 2 items unanswered",
        "scoring_source": "Roach KE, Budiman-Mak E, Songsiridej N, Lertratanakul Y. Development of a shoulder "
                          "pain and disability index. Arthritis Care Res 1991;4:143-149, and its scoring sheet "
                          "(total /130 x 100; if an item is missed divide by the possible score, e.g. 120); NRS "
                          "version: Williams JW et al. J Rheumatol 1995;22:727-732",
        "mcid_source": "Roy JS, MacDermid JC, Woodhouse LJ. Measuring shoulder function: a systematic review of "
                       "four questionnaires. Arthritis Rheum 2009;61:623-632 (MCID 8-13; the upper bound is "
                       "used, which is also the 90% minimal detectable change on the Roach scoring sheet)",
    },
    "lefs": {
        "scoring_rule": "sum of 20 items, each 0-4 (0-80)",
        "scoring_source": "Binkley JM et al. The Lower Extremity Functional Scale (LEFS). Phys Ther "
                          "1999;79:371-383",
        "mcid_source": "Binkley et al. 1999 (9 points)",
    },
    "hit6": {
        "scoring_rule": "sum of 6 items: never 6, rarely 8, sometimes 10, very often 11, always 13 (36-78)",
        "scoring_source": "Kosinski M et al. A six-item short-form survey for measuring headache impact: the "
                          "HIT-6. Qual Life Res 2003;12:963-974; QualityMetric HIT-6 scoring instructions",
        "mcid_source": "Castien RF et al. Minimal clinically important change on the Headache Impact Test-6 "
                       "questionnaire in patients with chronic tension-type headache. Cephalalgia "
                       "2012;32:710-714 (8 points; cervicogenic and tension-type headache are what IMS clinics "
                       "treat; the migraine value is 6, Smelt AFH et al. Cephalalgia 2014;34:29-36)",
    },
    "visa_a": {
        "scoring_rule": "items 1-6: 0-10 each; item 7: 0, 4, 7 or 10; item 8: one branch only - A (no pain in "
                        "loading sport) 0/7/14/21/30, B (pain, completes training) 0/4/10/14/20, C (pain stops "
                        "training) 0/2/5/7/10 for nil, 1-10, 11-20, 21-30, >30 minutes; total = sum (0-100); "
                        "every item answered",
        "scoring_source": "Robinson JM, Cook JL, Purdam C, et al. The VISA-A questionnaire: a valid and reliable "
                          "index of the clinical severity of Achilles tendinopathy. Br J Sports Med "
                          "2001;35:335-341 (questionnaire in the appendix)",
        "mcid_source": "McCormack J et al. The minimum clinically important difference on the VISA-A and LEFS "
                       "for patients with insertional Achilles tendinopathy. Int J Sports Phys Ther "
                       "2015;10:639-644 (6.5 points)",
    },
}
