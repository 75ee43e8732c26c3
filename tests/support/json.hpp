// tests/support/json.hpp — a small JSON reader for tests that check files
// the runtime writes (the execution trace). Strict enough to reject what
// Perfetto would: trailing commas, bare words, unterminated strings, text
// after the value. Numbers are doubles; \u escapes outside ASCII become '?'
// (the tests compare ASCII names only).
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace goro_test::json {

struct value {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<value> items;
    std::map<std::string, value> fields;

    bool is_object() const { return type == kind::object; }
    bool is_array() const { return type == kind::array; }
    bool has(const std::string& key) const { return type == kind::object && fields.count(key) != 0; }
    // The field, or a null value when absent.
    const value& operator[](const std::string& key) const {
        static const value none;
        auto it = fields.find(key);
        return it == fields.end() ? none : it->second;
    }
    std::string str() const { return type == kind::string ? s : std::string(); }
    double num() const { return type == kind::number ? n : 0; }
};

class parser {
public:
    explicit parser(const std::string& text) : t_(text) {}

    // The document's value, or nullopt (with error()) if it is not JSON.
    std::optional<value> parse() {
        value v;
        skip();
        if (!parse_value(v, 0)) return std::nullopt;
        skip();
        if (i_ != t_.size()) return fail("text after the value");
        return v;
    }
    const std::string& error() const { return error_; }

private:
    std::nullopt_t fail(const char* what) {
        if (error_.empty()) error_ = std::string(what) + " at offset " + std::to_string(i_);
        return std::nullopt;
    }
    void skip() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
    }
    bool literal(const char* word) {
        std::size_t n = std::char_traits<char>::length(word);
        if (t_.compare(i_, n, word) != 0) return false;
        i_ += n;
        return true;
    }
    bool parse_value(value& v, int depth) {
        if (depth > 64) return (fail("nested too deep"), false);
        if (i_ >= t_.size()) return (fail("unexpected end"), false);
        const char c = t_[i_];
        if (c == '{') return parse_object(v, depth);
        if (c == '[') return parse_array(v, depth);
        if (c == '"') {
            v.type = value::kind::string;
            return parse_string(v.s);
        }
        if (literal("true")) {
            v.type = value::kind::boolean;
            v.b = true;
            return true;
        }
        if (literal("false")) {
            v.type = value::kind::boolean;
            return true;
        }
        if (literal("null")) return true;
        return parse_number(v);
    }
    bool parse_number(value& v) {
        const std::size_t start = i_;
        if (i_ < t_.size() && t_[i_] == '-') ++i_;
        if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') return (fail("bad value"), false);
        while (i_ < t_.size() && ((t_[i_] >= '0' && t_[i_] <= '9') || t_[i_] == '.' || t_[i_] == 'e' ||
                                  t_[i_] == 'E' || t_[i_] == '+' || t_[i_] == '-'))
            ++i_;
        const std::string text = t_.substr(start, i_ - start);
        char* end = nullptr;
        v.type = value::kind::number;
        v.n = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size()) return (fail("bad number"), false);
        return true;
    }
    bool parse_string(std::string& out) {
        ++i_;  // the quote
        while (i_ < t_.size()) {
            const char c = t_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return (fail("control character in string"), false);
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= t_.size()) break;
            const char e = t_[i_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (i_ + 4 > t_.size()) return (fail("short \\u escape"), false);
                const long code = std::strtol(t_.substr(i_, 4).c_str(), nullptr, 16);
                i_ += 4;
                out += code < 0x80 ? static_cast<char>(code) : '?';
                break;
            }
            default: return (fail("bad escape"), false);
            }
        }
        return (fail("unterminated string"), false);
    }
    bool parse_array(value& v, int depth) {
        v.type = value::kind::array;
        ++i_;
        skip();
        if (i_ < t_.size() && t_[i_] == ']') {
            ++i_;
            return true;
        }
        for (;;) {
            value item;
            skip();
            if (!parse_value(item, depth + 1)) return false;
            v.items.push_back(std::move(item));
            skip();
            if (i_ >= t_.size()) return (fail("unterminated array"), false);
            if (t_[i_] == ',') {
                ++i_;
                continue;
            }
            if (t_[i_] == ']') {
                ++i_;
                return true;
            }
            return (fail("expected , or ]"), false);
        }
    }
    bool parse_object(value& v, int depth) {
        v.type = value::kind::object;
        ++i_;
        skip();
        if (i_ < t_.size() && t_[i_] == '}') {
            ++i_;
            return true;
        }
        for (;;) {
            skip();
            if (i_ >= t_.size() || t_[i_] != '"') return (fail("expected a key"), false);
            std::string key;
            if (!parse_string(key)) return false;
            skip();
            if (i_ >= t_.size() || t_[i_] != ':') return (fail("expected :"), false);
            ++i_;
            skip();
            value item;
            if (!parse_value(item, depth + 1)) return false;
            v.fields[key] = std::move(item);
            skip();
            if (i_ >= t_.size()) return (fail("unterminated object"), false);
            if (t_[i_] == ',') {
                ++i_;
                continue;
            }
            if (t_[i_] == '}') {
                ++i_;
                return true;
            }
            return (fail("expected , or }"), false);
        }
    }

    const std::string& t_;
    std::size_t i_ = 0;
    std::string error_;
};

}  // namespace goro_test::json
