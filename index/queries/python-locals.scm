; Python scopes, local definitions and the type evidence of locals (the locals.scm convention,
; plus @local.type / @local.constructor for what an annotation or a constructor call shows, and
; @local.member for attributes assigned through a receiver, such as `self._transport = T()`).

(function_definition) @local.scope
(lambda) @local.scope
(class_definition) @local.scope.class
[(list_comprehension) (set_comprehension) (dictionary_comprehension) (generator_expression)] @local.scope

(parameters (identifier) @local.definition)
(lambda_parameters (identifier) @local.definition)
(default_parameter name: (identifier) @local.definition)
(typed_parameter (identifier) @local.definition type: (type) @local.type)
(typed_default_parameter name: (identifier) @local.definition type: (type) @local.type)
(list_splat_pattern (identifier) @local.definition)
(dictionary_splat_pattern (identifier) @local.definition)

(assignment left: (identifier) @local.definition type: (type) @local.type)
(assignment left: (identifier) @local.definition
  right: (call function: [(identifier) (attribute)] @local.constructor))
(assignment left: (identifier) @local.definition)
(assignment left: [(pattern_list) (tuple_pattern) (list_pattern)] @local.definition.pattern)
(augmented_assignment left: (identifier) @local.definition)
(for_statement left: (identifier) @local.definition)
(for_statement left: [(pattern_list) (tuple_pattern)] @local.definition.pattern)
(for_in_clause left: (identifier) @local.definition)
(for_in_clause left: [(pattern_list) (tuple_pattern)] @local.definition.pattern)
(as_pattern alias: (as_pattern_target (identifier) @local.definition))
(named_expression name: (identifier) @local.definition)
(global_statement (identifier) @local.global)
(nonlocal_statement (identifier) @local.global)

(assignment
  left: (attribute object: (identifier) @local.receiver attribute: (identifier) @local.member)
  type: (type) @local.type)
(assignment
  left: (attribute object: (identifier) @local.receiver attribute: (identifier) @local.member)
  right: (call function: [(identifier) (attribute)] @local.constructor))
