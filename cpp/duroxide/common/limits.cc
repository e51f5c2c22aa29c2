// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/common/limits.h"

#include <cstdio>

namespace duroxide::limits {

namespace {

// Decodes the UTF-8 code point at s[i] into *cp and returns its length, or 0 when the bytes at
// i are not well-formed UTF-8 (overlong forms, encoded surrogates and values above U+10FFFF
// count as malformed).
size_t DecodeUtf8(const std::string& s, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  uint32_t min = 0;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

// The code points ids and names may not contain (docs/reliability.md, "Ids and names"): C0
// and C1 controls and DEL, the line and paragraph separators, invisible format characters that
// make two ids look alike or reorder text (zero-width space, direction marks and overrides,
// word joiner and friends, the byte order mark) and noncharacters. ZWJ/ZWNJ (U+200C/D) stay
// allowed: emoji sequences and several scripts need them. Mirrored by duroxide._common.
bool IsForbiddenCodePoint(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;
  if (cp == 0x2028 || cp == 0x2029) return true;
  if (cp == 0x200B || cp == 0x200E || cp == 0x200F) return true;
  if (cp >= 0x202A && cp <= 0x202E) return true;
  if (cp >= 0x2060 && cp <= 0x206F) return true;
  if (cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB)) return true;
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return true;
  return (cp & 0xFFFE) == 0xFFFE;  // U+xFFFE and U+xFFFF in every plane
}

namespace {

std::string CheckText(const std::string& s, size_t max_bytes, const char* what) {
  if (s.empty()) return std::string(what) + " is empty";
  if (s.size() > max_bytes) {
    return std::string(what) + " is " + std::to_string(s.size()) +
           " bytes, over the limit of " + std::to_string(max_bytes) + " bytes";
  }
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      return std::string(what) + " is not valid UTF-8 (at byte offset " + std::to_string(i) +
             ")";
    }
    if (IsForbiddenCodePoint(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
      return std::string(what) + " contains a control character or other forbidden character (" + buf +
             " at byte offset " + std::to_string(i) +
             "); controls, line separators, invisible format characters and noncharacters "
             "are not allowed";
    }
    i += len;
  }
  return "";
}

}  // namespace

std::string CheckInstanceId(const std::string& id, const char* what) {
  return CheckText(id, kMaxInstanceIdBytes, what);
}

std::string CheckName(const std::string& name, const char* what) {
  return CheckText(name, kMaxNameBytes, what);
}

std::string CheckPayload(size_t size, int64_t limit, const char* what) {
  if (limit <= 0 || size <= static_cast<size_t>(limit)) return "";
  return std::string(what) + " is " + std::to_string(size) + " bytes, over the payload limit of " +
         std::to_string(limit) + " bytes (max_payload_bytes); store large data elsewhere and "
         "pass a reference";
}

std::string FirstProblem(std::initializer_list<std::string> problems) {
  for (const std::string& p : problems) {
    if (!p.empty()) return p;
  }
  return std::string();
}

}  // namespace duroxide::limits
