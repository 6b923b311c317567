//! What the rules mean, in words for the page: each trust rule's reason, each red flag's
//! condition, and the question an open flag puts to the people in the room.

use accord_domain::models::flags::{Flag, Rule as FlagRule};
use accord_domain::models::trust::Rule as TrustRule;

/// Why a trust rule moves the score (docs/domain.md, A).
pub(crate) fn trust_rule(rule: TrustRule) -> &'static str {
    match rule {
        TrustRule::T1 => "delivered on or before the original due date",
        TrustRule::T2 => "delivered late, or open past its due date",
        TrustRule::T3 => "moved a due date with two weeks' notice or more",
        TrustRule::T4 => "moved a due date at short notice",
        TrustRule::T5 => "cancelled a meeting at less than 48 hours' notice",
        TrustRule::T6 => "cancelled with notice, or rescheduled",
        TrustRule::T7 => "showed up: a meeting held with them attending",
        TrustRule::T8 => "proposed a follow-up",
        TrustRule::T9 => "made an introduction",
        TrustRule::T10 => "a joint customer highlighted with them",
        TrustRule::T11 => "agreed a goal",
        TrustRule::T12 => "left their liaison seat vacant",
    }
}

/// What a red flag watches for (docs/domain.md, E).
pub(crate) fn flag_rule(rule: FlagRule) -> &'static str {
    match rule {
        FlagRule::R1 => {
            "one side makes all the requests and follow-ups, or the other keeps cancelling"
        }
        FlagRule::R2 => "an org's partner revenue depends on one partner",
        FlagRule::R3 => "active without agreed qualitative, marketing and sales goals",
        FlagRule::R4 => "a party's sales team is not paid for partner deals",
        FlagRule::R5 => "too many top priorities, or work nobody owns",
        FlagRule::R6 => "deliverables slip, or last quarter's plan was mostly missed",
        FlagRule::R7 => "a year without meeting in person",
        FlagRule::R8 => "no liaison, or an executive sponsor in name only",
        FlagRule::R9 => "three months without recording the agreed indicators",
        FlagRule::R10 => "the effort or the dependence is lopsided",
        FlagRule::R11 => "governance was defined before the business plan",
        FlagRule::R12 => "no agreed way out of the partnership",
        FlagRule::R13 => "\u{201c}us and them\u{201d} language",
        FlagRule::R14 => "joined in a hurry, or because a competitor did",
        FlagRule::R15 => "a joint customer won and never celebrated",
        FlagRule::R16 => "trust is low or falling fast",
    }
}

fn subject(f: &Flag) -> &str {
    f.subject.as_deref().unwrap_or("the partnership")
}

/// The question an open flag puts to the retrospective.
pub(crate) fn question(f: &Flag) -> String {
    let s = subject(f);
    match f.rule_id {
        FlagRule::R1 => {
            let (from, to) = s.split_once('>').unwrap_or((s, "the other side"));
            format!(
                "{from} is doing the reaching out and {to} is not answering in kind: does {to} still want this partnership, and what would it take to share the initiative?"
            )
        }
        FlagRule::R2 => format!(
            "{s} depends heavily on one partner's revenue: what happens to {s} if this partnership ends, and is that risk discussed openly?"
        ),
        FlagRule::R3 => "Which success metrics (qualitative, marketing and sales) will both sides sign up to, and who records them?".to_owned(),
        FlagRule::R4 => format!(
            "Are {s}'s sellers rewarded for partner deals? If not, why would they bring them?"
        ),
        FlagRule::R5 => "What are the one or two things that matter most this quarter, and does every open item have an owner?".to_owned(),
        FlagRule::R6 => "Why do deliverables slip: planning, capacity, or dependencies on the other side? What will we commit to only when we can keep it?".to_owned(),
        FlagRule::R7 => "When do the teams next meet in person, and who travels?".to_owned(),
        FlagRule::R8 => format!(
            "Who is {s}'s liaison, and does the executive sponsor have the time and the mandate to sponsor?"
        ),
        FlagRule::R9 => "The agreed indicators have gone quiet: are they still the right ones, and who reports them?".to_owned(),
        FlagRule::R10 => format!(
            "The effort or the dependence between {} is lopsided: is that the deal both sides meant to make?",
            s.replace('>', " and ")
        ),
        FlagRule::R11 => "Governance came before a business plan: what is the plan the forums are meant to steer?".to_owned(),
        FlagRule::R12 => "How would either side leave, with what notice, and what happens to the data?".to_owned(),
        FlagRule::R13 => format!(
            "{s} talks of \u{201c}us and them\u{201d}: what would make the partnership feel like one team?"
        ),
        FlagRule::R14 => "Why did we join, and would we still, knowing what we know now?".to_owned(),
        FlagRule::R15 => "A joint customer was won and never celebrated: who tells the story, and where?".to_owned(),
        FlagRule::R16 => format!(
            "Trust in {s} is low or falling: which events moved it, and what would rebuild it?"
        ),
    }
}
