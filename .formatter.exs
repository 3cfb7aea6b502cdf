# Used by "mix format"
[
  inputs: [
    "mix.exs",
    ".formatter.exs",
    "{config,lib,test,bench,spec,tools}/**/*.{ex,exs}",
    "examples/*.exs"
  ],
  # The Phoenix example has its own formatter options (Phoenix's macros).
  subdirectories: ["examples/phoenix_chat"]
]
