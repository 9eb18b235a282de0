//! A thin layer over quick-xml's streaming reader shared by the GPX and KML readers: element
//! starts and ends, text with the XML predefined entities and character references resolved,
//! and a well-formed, single-rooted, complete document enforced.
//!
//! No DTD is read and no other entity is expanded: a reference to one makes the file malformed.

use std::borrow::Cow;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::error::{shorten, PlanError};

/// What the GPX and KML readers see.
pub(super) enum XmlEvent<'a> {
    /// An element starts (an empty element gives `Start` then `End`).
    Start(BytesStart<'a>),
    /// The innermost open element ends.
    End,
    /// Character data inside the root element (possibly one piece of a longer text).
    Text(Cow<'a, str>),
    /// The document ended with its root element closed.
    Eof,
}

pub(super) struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    /// "GPX" or "KML", for messages.
    format: &'static str,
    depth: usize,
    root_closed: bool,
}

impl<'a> XmlReader<'a> {
    pub(super) fn new(body: &'a [u8], format: &'static str) -> Result<Self, PlanError> {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let text = std::str::from_utf8(body).map_err(|e| {
            PlanError::malformed(format!(
                "the {format} file is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let mut reader = Reader::from_str(text);
        reader.config_mut().expand_empty_elements = true;
        Ok(XmlReader { reader, format, depth: 0, root_closed: false })
    }

    /// A malformed-file error with `problem` and the current byte position.
    pub(super) fn error(&self, problem: impl std::fmt::Display) -> PlanError {
        PlanError::malformed(format!(
            "the {} file is malformed near byte {}: {problem}",
            self.format,
            self.reader.buffer_position()
        ))
    }

    pub(super) fn format(&self) -> &'static str {
        self.format
    }

    pub(super) fn next(&mut self) -> Result<XmlEvent<'a>, PlanError> {
        loop {
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    return Err(PlanError::malformed(format!(
                        "the {} file is not well-formed XML near byte {}: {e}",
                        self.format,
                        self.reader.error_position()
                    )))
                }
            };
            match event {
                Event::Start(start) => {
                    if self.depth == 0 && self.root_closed {
                        return Err(self.error("a second root element follows the first"));
                    }
                    self.depth += 1;
                    return Ok(XmlEvent::Start(start));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.root_closed = true;
                    }
                    return Ok(XmlEvent::End);
                }
                // Not produced with `expand_empty_elements`; refused rather than mis-nested.
                Event::Empty(_) => return Err(self.error("unexpected empty element")),
                Event::Text(text) => {
                    let text = text.decode().map_err(|e| self.error(e))?;
                    if let Some(text) = self.text(text)? {
                        return Ok(XmlEvent::Text(text));
                    }
                }
                Event::CData(data) => {
                    let text = data.decode().map_err(|e| self.error(e))?;
                    if let Some(text) = self.text(text)? {
                        return Ok(XmlEvent::Text(text));
                    }
                }
                Event::GeneralRef(reference) => {
                    let text = self.resolve(&reference)?;
                    if let Some(text) = self.text(Cow::Owned(text))? {
                        return Ok(XmlEvent::Text(text));
                    }
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => {
                    if self.depth > 0 {
                        return Err(
                            self.error("the file ends before its elements are closed (is it cut short?)")
                        );
                    }
                    if !self.root_closed {
                        return Err(PlanError::malformed(format!(
                            "the body is not a {} file: it has no XML element",
                            self.format
                        )));
                    }
                    return Ok(XmlEvent::Eof);
                }
            }
        }
    }

    /// Text inside the root element is passed on; outside it only white space is allowed.
    fn text(&self, text: Cow<'a, str>) -> Result<Option<Cow<'a, str>>, PlanError> {
        if self.depth > 0 {
            Ok(Some(text))
        } else if text.trim().is_empty() {
            Ok(None)
        } else {
            Err(PlanError::malformed(format!(
                "the body is not a {} file: it has text outside the XML root element ({:?})",
                self.format,
                shorten(text.trim(), 40)
            )))
        }
    }

    /// `&lt;` and the other predefined entities, and character references.
    fn resolve(&self, reference: &BytesRef<'_>) -> Result<String, PlanError> {
        if reference.is_char_ref() {
            return match reference.resolve_char_ref() {
                Ok(Some(c)) => Ok(c.to_string()),
                _ => Err(self.error("an invalid character reference")),
            };
        }
        let name = reference.decode().map_err(|e| self.error(e))?;
        let text = match name.as_ref() {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            other => {
                return Err(self.error(format_args!(
                    "the entity &{}; is not one of XML's predefined entities (others are not expanded)",
                    shorten(other, 40)
                )))
            }
        };
        Ok(text.to_string())
    }

    /// The value of the attribute whose local name is `name`, if the element has it.
    pub(super) fn attribute(
        &self,
        element: &BytesStart<'_>,
        name: &[u8],
    ) -> Result<Option<String>, PlanError> {
        for attribute in element.attributes() {
            let attribute = attribute.map_err(|e| self.error(e))?;
            if attribute.key.local_name().as_ref() == name {
                let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| self.error(e))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }
}

/// The local name of an element (without its namespace prefix).
pub(super) fn local_name<'e>(element: &'e BytesStart<'_>) -> &'e [u8] {
    element.local_name().into_inner()
}
