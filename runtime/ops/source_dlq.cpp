#include "ops/source_dlq.hpp"

namespace sluice {

std::optional<source_dlq_settings> parse_source_dlq(const stage_spec& spec, params_reader& p) {
  source_dlq_settings s;
  auto path = p.string("path", true);
  auto stage = p.string("stage", false);
  auto cls = p.string("class", false);
  bool ok = true;
  if (stage) {
    if (stage->empty()) {
      p.error("stage", "expected a stage id");
      ok = false;
    }
    s.filter.stage = std::move(*stage);
  }
  if (cls) {
    if (!errc_from_string(*cls)) {
      p.error("class", "unknown error class '" + *cls + "'")
        .hint = "the classes are those of the dead letters' error.class, e.g."
                " \"schema_violation\", \"parse_error\", \"type_error\"";
      ok = false;
    }
    s.filter.error_class = std::move(*cls);
  }
  if (path) {
    if (path->empty() || *path == "-" || path->find_first_of("*?[") != std::string::npos) {
      p.error("path", "expected the path of one dead-letter file (no glob, not stdin)");
      ok = false;
    } else {
      auto files = expand_input(*path, resolve_path(spec.base_dir, *path));
      if (!files) {
        p.error("path", files.err().message);
        ok = false;
      } else {
        s.file = std::move(files->front());
      }
    }
  }
  if (!p.finish() || !ok || !path)
    return std::nullopt;
  return s;
}

dlq_source_op::dlq_source_op(std::string source_id, std::string file_name)
  : source_id_(std::move(source_id)), file_name_(std::move(file_name)) {
}

void dlq_source_op::process(record&& rec, emitter& out) {
  auto& meta = rec.meta();
  if (meta.is_object()) {
    if (auto e = meta.find("error"); e != meta.end()) {
      auto why = e->is_string() ? e->get<std::string>() : e->dump();
      meta.erase(e);
      if (meta.empty())
        meta = nullptr;
      auto line = std::to_string(rec.trail().origin.line);
      if (rec.id().empty())
        rec.id(source_id_ + ":" + line);
      out.fail(std::move(rec), error{errc::parse_error, file_name_ + ":" + line + ": " + why});
      return;
    }
  }
  out.emit(std::move(rec), 0);
}

stage_kind describe_source_dlq() {
  stage_kind k;
  k.name = "source.dlq";
  k.role = stage_role::source;
  k.summary = "reads a dead-letter file back as records (sluice dlq replay)";
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto s = parse_source_dlq(spec, p);
    if (!s)
      return nullptr;
    return std::make_unique<dlq_source_op>(spec.id, s->file.name);
  };
  k.make_reader = [](const stage_spec& spec, params_reader& p) -> reader_ptr {
    auto s = parse_source_dlq(spec, p);
    if (!s)
      return nullptr;
    return std::make_unique<dlq_reader>(std::move(s->file), spec.index, std::move(s->filter));
  };
  return k;
}

} // namespace sluice
