// Proves the documentation a user clones is whole: every relative link in README.md and docs/*.md
// names a file or folder inside the repository, and every #anchor names a heading of its target
// (GitHub's slug rules). Links inside code blocks and inline code are not links, and are skipped.
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fxmesh::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::weakly_canonical(FXMESH_SOURCE_DIR);

// The file's lines outside fenced code blocks, with inline code blanked out.
std::vector<std::string> ProseLines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  bool in_fence = false;
  for (std::string line; std::getline(in, line);) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, 3, "```") == 0) {
      in_fence = !in_fence;
      continue;
    }
    if (in_fence) continue;
    lines.push_back(std::regex_replace(line, std::regex("`[^`]*`"), "``"));
  }
  return lines;
}

// GitHub's anchor for a heading: lower case; letters, digits, spaces, '-' and '_' kept, everything
// else dropped; spaces become '-'. The n-th repeat of a slug gets "-n".
std::set<std::string> Anchors(const fs::path& file) {
  std::ifstream in(file);
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  bool in_fence = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) in_fence = !in_fence;
    if (in_fence || line.empty() || line[0] != '#') continue;
    const size_t text = line.find_first_not_of('#');
    if (text == std::string::npos || line[text] != ' ') continue;
    std::string slug;
    for (size_t i = text + 1; i < line.size(); ++i) {
      const unsigned char c = line[i];
      if (std::isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
        slug += static_cast<char>(std::tolower(c));
      } else if (c == ' ') {
        slug += '-';
      }
    }
    const int repeat = seen[slug]++;
    anchors.insert(repeat == 0 ? slug : slug + "-" + std::to_string(repeat));
  }
  return anchors;
}

// What is wrong with `target` linked from `file`, or "".
std::string CheckLink(const fs::path& file, const std::string& target) {
  static const std::regex kExternal("^[a-zA-Z][a-zA-Z0-9+.-]*:");
  if (std::regex_search(target, kExternal)) return "";
  const size_t hash = target.find('#');
  const std::string path_part = target.substr(0, hash);
  const fs::path resolved =
      path_part.empty() ? file : fs::weakly_canonical(file.parent_path() / path_part);
  const std::string relative = fs::relative(resolved, kRoot).string();
  if (relative.rfind("..", 0) == 0) return "points outside the repository";
  if (!fs::exists(resolved)) return "names a file that does not exist";
  if (hash == std::string::npos) return "";
  const std::string anchor = target.substr(hash + 1);
  if (fs::is_directory(resolved) || resolved.extension() != ".md") return "";
  if (Anchors(resolved).count(anchor) == 0) return "names a heading that does not exist";
  return "";
}

std::vector<fs::path> DocFiles() {
  std::vector<fs::path> files = {kRoot / "README.md"};
  for (const fs::directory_entry& entry : fs::directory_iterator(kRoot / "docs")) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  return files;
}

TEST_CASE("Every relative link in the README and docs resolves inside the repository",
          "[unit][docs]") {
  static const std::regex kLink(R"(\[[^\]]*\]\(([^)\s]+)\))");
  std::vector<std::string> broken;
  int checked = 0;
  for (const fs::path& file : DocFiles()) {
    int number = 0;
    for (const std::string& line : ProseLines(file)) {
      ++number;
      for (auto it = std::sregex_iterator(line.begin(), line.end(), kLink);
           it != std::sregex_iterator(); ++it) {
        const std::string target = (*it)[1];
        ++checked;
        if (std::string why = CheckLink(file, target); !why.empty()) {
          broken.push_back(fs::relative(file, kRoot).string() + ": (" + target + ") " + why);
        }
      }
    }
  }
  std::ostringstream list;
  for (const std::string& line : broken) list << line << "\n";
  INFO(list.str());
  CHECK(checked > 20);
  CHECK(broken.empty());
}

TEST_CASE("Anchors follow GitHub's slug rules", "[unit][docs]") {
  // kafka.md's own heading, as README.md links it.
  CHECK(Anchors(kRoot / "docs/kafka.md")
            .count("watch-a-compensation-a-retry-and-a-dead-letter-flow-through-the-topics") == 1);
  CHECK(CheckLink(kRoot / "README.md", "docs/kafka.md#no-such-heading") ==
        "names a heading that does not exist");
  CHECK(CheckLink(kRoot / "README.md", "../shared/ARCHITECTURE.md") ==
        "points outside the repository");
  CHECK(CheckLink(kRoot / "README.md", "https://example.com/x") == "");
}

}  // namespace
}  // namespace fxmesh::testing
