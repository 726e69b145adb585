// What the tool writes, and where. Results go to stdout: aligned tables for people, or with --json
// one proto3 JSON object per line for scripts. Errors, notes and progress go to stderr, so stdout
// stays parseable. Colors are used only on a terminal, and never when NO_COLOR is set.
// Not thread-safe: one command writes from one thread (Progress draws on stderr only while the
// command waits for an answer and writes nothing).
#pragma once

#include <google/protobuf/message.h>

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fxmesh::cli {

enum class Style { kPlain, kBold, kDim, kGood, kBad, kWarning };

// `text` wrapped in the ANSI escape codes for `style` when `colors`, else unchanged.
std::string Styled(absl::string_view text, Style style, bool colors);

struct Cell {
  Cell(std::string text, Style style = Style::kPlain) : text(std::move(text)), style(style) {}
  Cell(const char* text, Style style = Style::kPlain) : text(text), style(style) {}
  std::string text;
  Style style;
};

enum class Align { kLeft, kRight };

struct Column {
  Column(std::string header, Align align = Align::kLeft)
      : header(std::move(header)), align(align) {}
  Column(const char* header, Align align = Align::kLeft) : header(header), align(align) {}
  std::string header;
  Align align;
};

// Rows of cells under headers, each column as wide as its widest cell (counted in characters, not
// bytes), columns two spaces apart, no trailing spaces. Amounts align right.
class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Missing trailing cells are empty; extra cells are a programming error.
  void AddRow(std::vector<Cell> cells);
  bool empty() const { return rows_.empty(); }
  std::string Render(bool colors) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

// "label:  value" lines, the labels padded to one width: how one record (an account, an exchange)
// is shown.
class Fields {
 public:
  void Add(std::string label, Cell value);
  std::string Render(bool colors) const;

 private:
  std::vector<std::pair<std::string, Cell>> fields_;
};

struct OutputOptions {
  bool json = false;
  bool stdout_colors = false;
  bool stderr_colors = false;
  // stderr is a terminal and the output is not JSON: Progress may draw.
  bool progress = false;
};

class Printer {
 public:
  Printer(std::ostream& out, std::ostream& err, OutputOptions options)
      : out_(out), err_(err), options_(options) {}

  bool json() const { return options_.json; }
  const OutputOptions& options() const { return options_; }
  std::ostream& err() { return err_; }

  // Human output on stdout; ignored with --json, where only messages are printed.
  void Text(absl::string_view text);
  void Print(const Table& table) { Text(table.Render(options_.stdout_colors)); }
  void Print(const Fields& fields) { Text(fields.Render(options_.stdout_colors)); }
  // `text` styled for stdout.
  std::string Style(absl::string_view text, cli::Style style) const {
    return Styled(text, style, options_.stdout_colors);
  }
  // With --json, `message` as one line of proto3 JSON (lowerCamelCase names, every field
  // printed, including those at their default value); without it, nothing.
  void Json(const google::protobuf::Message& message);
  // "fxmesh: <text>" on stderr: a hint or a generated id, in both modes.
  void Note(absl::string_view text);
  // "fxmesh: error: <text>" on stderr.
  void Error(absl::string_view text);

 private:
  std::ostream& out_;
  std::ostream& err_;
  OutputOptions options_;
};

}  // namespace fxmesh::cli
