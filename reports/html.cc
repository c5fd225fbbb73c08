#include "reports/html.h"

#include "reports/junit.h"

namespace faultline::reports {

std::string HtmlEscape(std::string_view text) { return XmlText(text); }

std::string HtmlEscapeJson(const Json& value) {
  if (value.is_string()) return HtmlEscape(value.get_ref<const std::string&>());
  // dump's replace handler: bytes that are not UTF-8 become U+FFFD instead of an exception.
  return HtmlEscape(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace faultline::reports
