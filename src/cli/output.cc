#include "cli/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace fxmesh::cli {
namespace {

// Characters, not bytes: "→" and "₩" are one column wide, and escape codes none (cells are
// measured before they are styled).
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string Pad(absl::string_view text, size_t width, Align align) {
  const std::string padding(width - std::min(width, DisplayWidth(text)), ' ');
  return align == Align::kLeft ? absl::StrCat(text, padding) : absl::StrCat(padding, text);
}

// `line` without the spaces that empty trailing cells leave, and a newline.
std::string TrimmedLine(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return absl::StrCat(line, "\n");
}

}  // namespace

std::string Styled(absl::string_view text, Style style, bool colors) {
  if (!colors || style == Style::kPlain || text.empty()) return std::string(text);
  const char* code = "";
  switch (style) {
    case Style::kPlain:
      break;
    case Style::kBold:
      code = "1";
      break;
    case Style::kDim:
      code = "2";
      break;
    case Style::kGood:
      code = "32";
      break;
    case Style::kBad:
      code = "31";
      break;
    case Style::kWarning:
      code = "33";
      break;
  }
  return absl::StrCat("\033[", code, "m", text, "\033[0m");
}

void Table::AddRow(std::vector<Cell> cells) {
  FXMESH_CHECK(cells.size() <= columns_.size(), "a table row has more cells than columns");
  cells.resize(columns_.size(), Cell(""));
  rows_.push_back(std::move(cells));
}

std::string Table::Render(bool colors) const {
  std::vector<size_t> widths;
  for (const Column& column : columns_) widths.push_back(DisplayWidth(column.header));
  for (const std::vector<Cell>& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i].text));
    }
  }
  // A left-aligned last column needs no padding: each line ends where its text does.
  if (!columns_.empty() && columns_.back().align == Align::kLeft) widths.back() = 0;
  auto render_line = [&](const std::vector<Cell>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      // Styling goes around the padded text so that escape codes never count as width.
      absl::StrAppend(
          &line, i == 0 ? "" : "  ",
          Styled(Pad(cells[i].text, widths[i], columns_[i].align), cells[i].style, colors));
    }
    return TrimmedLine(line);
  };
  std::vector<Cell> header;
  for (const Column& column : columns_) header.emplace_back(column.header, Style::kBold);
  std::string text = render_line(header);
  for (const std::vector<Cell>& row : rows_) absl::StrAppend(&text, render_line(row));
  return text;
}

void Fields::Add(std::string label, Cell value) {
  fields_.emplace_back(std::move(label), std::move(value));
}

std::string Fields::Render(bool colors) const {
  size_t width = 0;
  for (const auto& [label, value] : fields_) width = std::max(width, DisplayWidth(label) + 1);
  std::string text;
  for (const auto& [label, value] : fields_) {
    absl::StrAppend(
        &text, TrimmedLine(absl::StrCat(Pad(absl::StrCat(label, ":"), width, Align::kLeft), "  ",
                                        Styled(value.text, value.style, colors))));
  }
  return text;
}

void Printer::Text(absl::string_view text) {
  if (options_.json) return;
  out_ << text;
  out_.flush();
}

void Printer::Json(const google::protobuf::Message& message) {
  if (!options_.json) return;
  google::protobuf::util::JsonPrintOptions print;
  // Scripts read `balanced` or `amountMinor` without knowing that proto3 JSON omits false and 0.
  print.always_print_primitive_fields = true;
  std::string json;
  // Only a message with an invalid enum value or a malformed Any fails to print: a programming
  // error in this tool, not an operating one.
  FXMESH_CHECK(google::protobuf::util::MessageToJsonString(message, &json, print).ok(),
               "a response message did not convert to JSON");
  out_ << json << "\n";
  out_.flush();
}

void Printer::Note(absl::string_view text) {
  err_ << "fxmesh: " << text << "\n";
  err_.flush();
}

void Printer::Error(absl::string_view text) {
  err_ << "fxmesh: " << Styled("error:", Style::kBad, options_.stderr_colors) << " " << text
       << "\n";
  err_.flush();
}

}  // namespace fxmesh::cli
