//! The browser tests, one module per part of the page; the tools they share are in
//! tests/browser.rs.

mod alert_history;
mod auditor;
mod chinese_admin;
mod chinese_watch;
mod daily_report;
mod demo_map;
mod gcj02;
mod holds;
mod labels;
mod live_feed_cut;
mod move_edit;
mod move_end;
mod page_files;
mod people;
mod phone;
mod phones;
mod progress;
mod seals;
mod session;
mod streets;
mod time_zone;
mod vehicles;
