// Escaping for text placed into HTML (and into SVG/XML, which needs the same): every text from a
// history or a checker result goes through it, so `<script>alert(1)</script>` shows as text.
// Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/op.h"

namespace faultline::reports {

// `text` safe as HTML/XML element content or a double- or single-quoted attribute value:
// & < > " ' escaped; control characters other than tab and newline, and bytes that are not valid
// UTF-8, become U+FFFD (XML 1.0 forbids the former, the latter would make the file invalid).
// The same escaping as reports/junit.h's XmlText, so inline SVG stays valid XML too.
std::string HtmlEscape(std::string_view text);

// A JSON value as compact text (strings without their quotes), escaped as by HtmlEscape.
std::string HtmlEscapeJson(const Json& value);

}  // namespace faultline::reports
