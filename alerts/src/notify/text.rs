//! What people read of an alert: the e-mail's subject and body, and the short text of a group
//! robot or a webhook, in the move's language, with its time also in the move's time zone.
//!
//! English keeps the rule and state names as they are on the wire (`off_route open`), which
//! is what the escort teams' tooling has matched on since the first notifier; Simplified
//! Chinese names them in words (偏离路线 开启) with the wire name beside the kind, so a
//! message can still be matched to the API's records. Times stay UTC beside the local time.

use chrono::SecondsFormat;
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::language::Language;
use convoy_core::time_zone::{self, Tz};
use serde_json::Value;

/// How the alerts of one move are written: its language and its time zone (the plan's, else
/// the server's `[moves]` defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locale {
    pub language: Language,
    pub time_zone: Tz,
}

impl Default for Locale {
    fn default() -> Self {
        Locale { language: Language::English, time_zone: time_zone::UTC }
    }
}

/// An alert change on its way to the notifiers, with how to write it.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub alert: AlertMessage,
    pub locale: Locale,
}

/// The words of one language.
struct Words {
    alert: &'static str,
    state: &'static str,
    vehicle: &'static str,
    move_: &'static str,
    time: &'static str,
    local_time: &'static str,
    position: &'static str,
    unknown: &'static str,
    alert_id: &'static str,
    detail: &'static str,
    as_json: &'static str,
    late: &'static str,
    chat_title: &'static str,
}

const ENGLISH: Words = Words {
    alert: "Alert",
    state: "State",
    vehicle: "Vehicle",
    move_: "Move",
    time: "Time",
    local_time: "Local time",
    position: "Position",
    unknown: "unknown",
    alert_id: "Alert id",
    detail: "Detail",
    as_json: "As JSON",
    late: "(decided from fixes that arrived late)",
    chat_title: "Convoy alert",
};

const CHINESE: Words = Words {
    alert: "告警",
    state: "状态",
    vehicle: "车辆",
    move_: "任务",
    time: "时间",
    local_time: "当地时间",
    position: "位置",
    unknown: "未知",
    alert_id: "告警编号",
    detail: "详情",
    as_json: "JSON 原文",
    late: "（根据迟到的定位数据判定）",
    chat_title: "Convoy 告警",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::English => &ENGLISH,
        Language::SimplifiedChinese => &CHINESE,
    }
}

/// The rule's name: the wire name in English, words in Chinese.
pub fn kind_name(kind: AlertKind, language: Language) -> &'static str {
    match language {
        Language::English => kind.as_str(),
        Language::SimplifiedChinese => match kind {
            AlertKind::OffRoute => "偏离路线",
            AlertKind::UnplannedStop => "计划外停车",
            AlertKind::SignalLost => "信号中断",
            AlertKind::GnssLost => "卫星定位丢失",
            AlertKind::ZoneEnter => "进入区域",
            AlertKind::ZoneExit => "离开区域",
            AlertKind::Overspeed => "超速",
            AlertKind::ConvoyBroken => "车队脱节",
            AlertKind::Integrity => "轨迹完整性",
            AlertKind::Seal => "封条异常",
        },
    }
}

/// The alert's state: the wire name in English, words in Chinese.
pub fn state_name(state: AlertState, language: Language) -> &'static str {
    match language {
        Language::English => state.as_str(),
        Language::SimplifiedChinese => match state {
            AlertState::Open => "开启",
            AlertState::Acknowledged => "已确认",
            AlertState::Resolved => "已解除",
        },
    }
}

/// `[Convoy] off_route open: truck-07 (move m1)`; `[Convoy] 偏离路线 开启：truck-07（任务 m1）`.
pub fn subject(notice: &Notice) -> String {
    let (alert, language) = (&notice.alert, notice.locale.language);
    let (kind, state) = (kind_name(alert.kind, language), state_name(alert.state, language));
    let move_id = one_line(&alert.move_id);
    match language {
        Language::English => format!("[Convoy] {kind} {state}: {} (move {move_id})", alert.vehicle),
        Language::SimplifiedChinese => {
            format!("[Convoy] {kind} {state}：{}（任务 {move_id}）", alert.vehicle)
        }
    }
}

/// The fields one per line, then the message as JSON.
pub fn email_body(notice: &Notice) -> String {
    let (alert, w) = (&notice.alert, words(notice.locale.language));
    let mut lines = vec![
        (w.alert, kind_with_wire_name(alert.kind, notice.locale.language)),
        (w.state, state_name(alert.state, notice.locale.language).to_string()),
        (w.vehicle, alert.vehicle.to_string()),
        (w.move_, one_line(&alert.move_id)),
        (w.time, alert.t.to_rfc3339_opts(SecondsFormat::Millis, true)),
    ];
    if let Some(local) = local_time(notice) {
        lines.push((w.local_time, local));
    }
    lines.push((w.position, position(notice)));
    lines.push((w.alert_id, one_line(&alert.id)));
    let detail = if alert.detail.is_null() {
        "-".to_string()
    } else {
        serde_json::to_string_pretty(&alert.detail).unwrap_or_else(|_| alert.detail.to_string())
    };
    lines.push((w.detail, detail));
    // Labels padded to one column, as a person reads them in a plain-text mail.
    let width = lines.iter().map(|(label, _)| label.chars().count() + 1).max().unwrap_or(0);
    let mut text: String =
        lines.iter().map(|(label, value)| format!("{:<width$} {value}\n", format!("{label}:"))).collect();
    let json = serde_json::to_string_pretty(alert).unwrap_or_default();
    text.push_str(&format!("\n{}:\n{json}\n", w.as_json));
    text
}

/// The alert as a group reads it: what happened to which vehicle, then when, where and why.
pub fn chat_text(notice: &Notice) -> String {
    let (alert, language) = (&notice.alert, notice.locale.language);
    let w = words(language);
    let colon = if language == Language::SimplifiedChinese { "：" } else { ": " };
    let time = match local_time(notice) {
        Some(local) => local,
        None => alert.t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    };
    let mut text = format!(
        "{title}{colon}{kind} {state}\n{vehicle}{colon}{vehicle_id}\n{move_}{colon}{move_id}\n{time_label}{colon}{time}\n{position_label}{colon}{position}\n{id_label}{colon}{id}",
        title = w.chat_title,
        kind = kind_name(alert.kind, language),
        state = state_name(alert.state, language),
        vehicle = w.vehicle,
        vehicle_id = alert.vehicle,
        move_ = w.move_,
        move_id = alert.move_id,
        time_label = w.time,
        position_label = w.position,
        position = position(notice),
        id_label = w.alert_id,
        id = alert.id,
    );
    if let Some(detail) = alert.detail.as_object().filter(|d| !d.is_empty()) {
        let fields: Vec<String> = detail.iter().map(|(k, v)| format!("{k} {}", plain(v))).collect();
        text.push_str(&format!("\n{}{colon}{}", w.detail, fields.join(", ")));
    }
    if alert.late {
        text.push('\n');
        text.push_str(w.late);
    }
    text
}

fn kind_with_wire_name(kind: AlertKind, language: Language) -> String {
    match language {
        Language::English => kind.as_str().to_string(),
        Language::SimplifiedChinese => format!("{} ({})", kind_name(kind, language), kind.as_str()),
    }
}

/// The time in the move's zone with the zone named, or `None` for a move kept in UTC (whose
/// time is already written in UTC).
fn local_time(notice: &Notice) -> Option<String> {
    let zone = notice.locale.time_zone;
    if zone == time_zone::UTC {
        return None;
    }
    let local = notice.alert.t.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S");
    Some(format!("{local} ({}, {})", zone.name(), time_zone::offset_label(zone, notice.alert.t)))
}

fn position(notice: &Notice) -> String {
    match (notice.alert.lat, notice.alert.lon) {
        (Some(lat), Some(lon)) => format!("{lat:.6}, {lon:.6}"),
        _ => words(notice.locale.language).unknown.to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

pub(super) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use convoy_core::vehicle::VehicleId;
    use serde_json::json;

    use super::*;

    fn alert() -> AlertMessage {
        AlertMessage {
            v: 1,
            id: "a1".into(),
            kind: AlertKind::OffRoute,
            state: AlertState::Open,
            vehicle: VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: Some(48.137154),
            lon: Some(11.576124),
            detail: json!({"distance_m": 412.5, "since": "2026-11-28T09:14:32.000Z"}),
            late: false,
        }
    }

    fn in_english() -> Notice {
        Notice { alert: alert(), locale: Locale::default() }
    }

    fn in_chinese() -> Notice {
        let shanghai = time_zone::parse("Asia/Shanghai").unwrap();
        Notice {
            alert: alert(),
            locale: Locale { language: Language::SimplifiedChinese, time_zone: shanghai },
        }
    }

    #[test]
    fn english_subject_names_kind_state_vehicle_and_move() {
        assert_eq!(subject(&in_english()), "[Convoy] off_route open: truck-07 (move m1)");
    }

    #[test]
    fn english_body_has_the_fields_and_the_json() {
        let text = email_body(&in_english());
        assert!(
            text.starts_with("Alert:    off_route\nState:    open\nVehicle:  truck-07\nMove:     m1\n"),
            "{text}"
        );
        assert!(text.contains("Time:     2026-11-28T09:15:02.000Z"), "{text}");
        assert!(text.contains("Position: 48.137154, 11.576124"), "{text}");
        assert!(text.contains("\"kind\": \"off_route\""), "{text}");
        assert!(!text.contains("Local time"), "a UTC move has no second time: {text}");
    }

    #[test]
    fn english_chat_text_says_what_happened_where_and_why() {
        let text = chat_text(&in_english());
        assert!(text.starts_with("Convoy alert: off_route open\nVehicle: truck-07\nMove: m1\n"), "{text}");
        assert!(text.contains("Time: 2026-11-28 09:15:02 UTC\nPosition: 48.137154, 11.576124"), "{text}");
        assert!(text.contains("Detail: distance_m 412.5, since 2026-11-28T09:14:32.000Z"), "{text}");
        let without = Notice {
            alert: AlertMessage { lat: None, lon: None, detail: Value::Null, ..alert() },
            ..in_english()
        };
        let text = chat_text(&without);
        assert!(text.contains("Position: unknown") && !text.contains("Detail"), "{text}");
    }

    #[test]
    fn chinese_texts_are_in_chinese_with_the_moves_local_time() {
        let notice = in_chinese();
        assert_eq!(subject(&notice), "[Convoy] 偏离路线 开启：truck-07（任务 m1）");
        let chat = chat_text(&notice);
        assert!(chat.starts_with("Convoy 告警：偏离路线 开启\n车辆：truck-07\n任务：m1\n"), "{chat}");
        // 09:15:02 UTC is 17:15:02 in Shanghai.
        assert!(
            chat.contains("时间：2026-11-28 17:15:02 (Asia/Shanghai, UTC+08:00)\n位置：48.137154, 11.576124"),
            "{chat}"
        );
        let body = email_body(&notice);
        assert!(body.contains("告警:"), "{body}");
        assert!(body.contains("偏离路线 (off_route)"), "{body}");
        assert!(body.contains("状态:") && body.contains("开启"), "{body}");
        assert!(
            body.contains("2026-11-28T09:15:02.000Z") && body.contains("2026-11-28 17:15:02 (Asia/Shanghai"),
            "{body}"
        );
        let late = Notice { alert: AlertMessage { late: true, lat: None, ..alert() }, ..in_chinese() };
        let chat = chat_text(&late);
        assert!(chat.contains("位置：未知") && chat.ends_with("（根据迟到的定位数据判定）"), "{chat}");
    }

    #[test]
    fn every_kind_and_state_has_a_chinese_name() {
        for kind in AlertKind::ALL {
            let name = kind_name(kind, Language::SimplifiedChinese);
            assert!(!name.is_empty() && !name.is_ascii(), "{kind:?}");
        }
        for state in [AlertState::Open, AlertState::Acknowledged, AlertState::Resolved] {
            assert!(!state_name(state, Language::SimplifiedChinese).is_ascii(), "{state:?}");
        }
    }

    #[test]
    fn control_characters_in_the_move_id_do_not_break_the_subject() {
        let notice =
            Notice { alert: AlertMessage { move_id: "m1\r\nBcc: x".into(), ..alert() }, ..in_english() };
        assert!(!subject(&notice).contains('\n'));
    }
}
