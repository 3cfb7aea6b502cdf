# Used by "mix format", here and from the repository root (a subdirectory
# there). The Phoenix macros are listed by hand so that formatting needs no
# compiled dependencies.
[
  inputs: ["mix.exs", ".formatter.exs", "{config,lib,test}/**/*.{ex,exs}"],
  locals_without_parens: [
    plug: 1,
    plug: 2,
    socket: 2,
    socket: 3,
    pipeline: 2,
    pipe_through: 1,
    scope: 2,
    scope: 3,
    get: 3,
    post: 3,
    live: 2,
    live: 3,
    attr: 2,
    attr: 3
  ]
]
