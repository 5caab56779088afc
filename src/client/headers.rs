//! A request's or an answer's headers as a list in wire order, where a `HeaderMap` would
//! hash every name to have it read once.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A request's or an answer's headers, in the order they go out or came: a list, not a
/// `HeaderMap`, as the tap makes a new set for every request it passes on and load mode and
/// the tap read every answer's, and a map hashes every name put in it (~1.1k instructions for
/// a request's six, as many for an answer's three) to have one or two read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers(Vec<(HeaderName, HeaderValue)>);

impl Headers {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Headers(Vec::with_capacity(capacity))
    }

    /// Adds `value` under `name`, after any there: a name's values stay together, in the
    /// order a `HeaderMap` gives them, so that the list goes out (and reads) as the map
    /// would, whichever of the two an exchange took.
    pub(crate) fn append(&mut self, name: HeaderName, value: HeaderValue) {
        match self.0.iter().rposition(|(there, _)| *there == name) {
            Some(last) => self.0.insert(last + 1, (name, value)),
            None => self.0.push((name, value)),
        }
    }

    /// Sets `name` to `value` alone, as `HeaderMap::insert` does: in the place of the first
    /// there (the others go), else last.
    pub(crate) fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        let Some(first) = self.0.iter_mut().find(|(there, _)| *there == name) else {
            return self.0.push((name, value));
        };
        first.1 = value;
        let mut kept = false;
        self.0
            .retain(|(there, _)| *there != name || !std::mem::replace(&mut kept, true));
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.0.iter().map(|(name, value)| (name, value))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &HeaderName) -> Option<&HeaderValue> {
        self.get_all(name).next()
    }

    /// The values of `name`, in order.
    pub(crate) fn get_all(&self, name: &HeaderName) -> impl Iterator<Item = &HeaderValue> {
        self.iter()
            .filter(move |&(there, _)| there == name)
            .map(|(_, value)| value)
    }

    /// As a map, whose order is this one's when each name's values come together.
    pub(crate) fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.0.len());
        for (name, value) in &self.0 {
            map.append(name.clone(), value.clone());
        }
        map
    }
}

impl From<&HeaderMap> for Headers {
    fn from(map: &HeaderMap) -> Self {
        Headers(
            map.iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_go_in_the_order_a_header_map_gives_them() {
        use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST, VIA};
        let value = HeaderValue::from_static;
        let pairs = |headers: &mut dyn Iterator<Item = (&HeaderName, &HeaderValue)>| {
            headers
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
                .collect::<Vec<_>>()
        };
        let mut map = HeaderMap::new();
        let mut list = Headers::with_capacity(2);
        for (name, value) in [
            (CONTENT_TYPE, value("application/json")),
            (VIA, value("1.1 a")),
            (HOST, value("x")),
            (VIA, value("1.1 b")),
        ] {
            map.append(name.clone(), value.clone());
            list.append(name, value);
        }
        // A name's values together, as the map keeps them.
        assert_eq!(pairs(&mut list.iter()), pairs(&mut map.iter()));
        assert_eq!(list.get_all(&VIA).count(), 2);
        // Replaced in place, the others of its name gone; or added last.
        for (name, value) in [
            (VIA, value("1.1 c")),
            (ACCEPT, value("*/*")),
            (CONTENT_TYPE, value("text/plain")),
            (CONTENT_LENGTH, HeaderValue::from(2)),
        ] {
            map.insert(name.clone(), value.clone());
            list.insert(name, value);
        }
        let listed = pairs(&mut list.iter());
        assert_eq!(listed, pairs(&mut map.iter()));
        assert_eq!(
            listed,
            [
                "content-type: text/plain",
                "via: 1.1 c",
                "host: x",
                "accept: */*",
                "content-length: 2"
            ]
        );
        assert_eq!(pairs(&mut list.to_map().iter()), listed);
        assert_eq!(pairs(&mut Headers::from(&map).iter()), listed);
        assert_eq!(list.get_all(&VIA).count(), 1);
        assert_eq!(list.len(), 5);
    }
}
