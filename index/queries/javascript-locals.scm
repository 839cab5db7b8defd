; JavaScript scopes, local definitions and constructor evidence (see python-locals.scm).

[(function_declaration) (function_expression) (arrow_function) (method_definition)
 (generator_function_declaration)] @local.scope
(class_declaration) @local.scope.class

(formal_parameters (identifier) @local.definition)
(formal_parameters (assignment_pattern left: (identifier) @local.definition))
(formal_parameters [(object_pattern) (array_pattern)] @local.definition.pattern)
(arrow_function parameter: (identifier) @local.definition)
(variable_declarator name: (identifier) @local.definition
  value: (new_expression constructor: [(identifier) (member_expression)] @local.constructor))
(variable_declarator name: (identifier) @local.definition)
(variable_declarator name: [(object_pattern) (array_pattern)] @local.definition.pattern)
(for_in_statement left: (identifier) @local.definition)
(catch_clause parameter: (identifier) @local.definition)

(assignment_expression
  left: (member_expression object: (this) @local.receiver property: (property_identifier) @local.member)
  right: (new_expression constructor: [(identifier) (member_expression)] @local.constructor))
