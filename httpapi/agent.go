package httpapi

import (
	"fmt"

	"github.com/minconsul/minconsul/structs"
)

func (s *Server) agentSelf(q *request) error {
	return writeJSON(q, s.agent.Self())
}

func (s *Server) agentMembers(q *request) error {
	// Without WAN federation ?wan lists the same (only) pool.
	members := s.agent.Members()
	if members == nil {
		members = []structs.AgentMember{}
	}
	return writeJSON(q, members)
}

// agentServiceView copies svc with Consul's non-null Tags and Meta.
func agentServiceView(svc *structs.AgentService) *structs.AgentService {
	if svc == nil || (svc.Tags != nil && svc.Meta != nil) {
		return svc
	}
	c := *svc
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.Meta == nil {
		c.Meta = map[string]string{}
	}
	return &c
}

func (s *Server) agentServices(q *request) error {
	f, err := parseFilter(q, (*structs.AgentService)(nil))
	if err != nil {
		return err
	}
	svcs := s.agent.Services()
	if svcs, err = apply(f, svcs); err != nil {
		return err
	}
	out := make(map[string]*structs.AgentService, len(svcs))
	for id, svc := range svcs {
		if svc != nil {
			out[id] = agentServiceView(svc)
		}
	}
	return writeJSON(q, out)
}

func (s *Server) agentService(q *request) error {
	if q.tail == "" {
		return badRequest("Missing service ID")
	}
	svc, err := s.agent.Service(q.tail)
	if err != nil {
		return err
	}
	if svc == nil {
		return structs.NotFound(fmt.Sprintf("unknown service ID: %s", q.tail))
	}
	if svc.ContentHash != "" {
		q.w.Header().Set("X-Consul-ContentHash", svc.ContentHash)
	}
	return writeJSON(q, agentServiceView(svc))
}

// decodeServiceDefinition decodes an api.AgentServiceRegistration body.
// Validation of the definition is the agent's (it knows Consul's rules for
// checks and durations).
func decodeServiceDefinition(q *request) (*structs.ServiceDefinition, error) {
	var def structs.ServiceDefinition
	if err := decodeBody(q.r.Body, &def); err != nil {
		return nil, err
	}
	return &def, nil
}

func (s *Server) agentServiceRegister(q *request) error {
	replace, err := boolParam(q.query, "replace-existing-checks")
	if err != nil {
		return badRequest("Invalid value for ?replace-existing-checks")
	}
	def, err := decodeServiceDefinition(q)
	if err != nil {
		return err
	}
	if err := s.agent.ServiceRegister(q.r.Context(), def, replace); err != nil {
		return fmt.Errorf("agent service register %q: %w", def.Name, err)
	}
	return nil
}

func (s *Server) agentServiceDeregister(q *request) error {
	if err := s.agent.ServiceDeregister(q.r.Context(), q.tail); err != nil {
		return fmt.Errorf("agent service deregister %q: %w", q.tail, err)
	}
	return nil
}

func (s *Server) agentChecks(q *request) error {
	f, err := parseFilter(q, (*structs.HealthCheck)(nil))
	if err != nil {
		return err
	}
	checks := s.agent.Checks()
	if checks, err = apply(f, checks); err != nil {
		return err
	}
	out := make(map[string]*structs.HealthCheck, len(checks))
	for id, c := range checks {
		if c == nil {
			continue
		}
		out[id] = checkView(c)
	}
	return writeJSON(q, out)
}

func (s *Server) agentCheckRegister(q *request) error {
	var def structs.CheckDefinition
	if err := decodeBody(q.r.Body, &def); err != nil {
		return err
	}
	if err := s.agent.CheckRegister(q.r.Context(), &def); err != nil {
		return fmt.Errorf("agent check register %q: %w", def.Name, err)
	}
	return nil
}

func (s *Server) agentCheckDeregister(q *request) error {
	if err := s.agent.CheckDeregister(q.r.Context(), q.tail); err != nil {
		return fmt.Errorf("agent check deregister %q: %w", q.tail, err)
	}
	return nil
}

func (s *Server) agentCheckPass(q *request) error { return s.checkTTL(q, structs.HealthPassing) }
func (s *Server) agentCheckWarn(q *request) error { return s.checkTTL(q, structs.HealthWarning) }
func (s *Server) agentCheckFail(q *request) error { return s.checkTTL(q, structs.HealthCritical) }

// checkTTL is check/pass|warn|fail: ?note becomes the check's output.
func (s *Server) checkTTL(q *request, status string) error {
	return s.updateTTL(q, q.tail, status, q.query.Get("note"))
}

func (s *Server) updateTTL(q *request, id, status, output string) error {
	if err := s.agent.CheckUpdateTTL(q.r.Context(), id, status, output); err != nil {
		return fmt.Errorf("agent check update %q: %w", id, err)
	}
	return nil
}

// checkUpdate is the body of PUT /v1/agent/check/update/<id>.
type checkUpdate struct {
	Status string
	Output string
}

func decodeCheckUpdate(q *request) (*checkUpdate, error) {
	var upd checkUpdate
	if err := decodeBody(q.r.Body, &upd); err != nil {
		return nil, err
	}
	switch upd.Status {
	case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return nil, badRequest(fmt.Sprintf("Invalid check status: '%s'", upd.Status))
	}
	return &upd, nil
}

func (s *Server) agentCheckUpdate(q *request) error {
	upd, err := decodeCheckUpdate(q)
	if err != nil {
		return err
	}
	return s.updateTTL(q, q.tail, upd.Status, upd.Output)
}

func (s *Server) agentJoin(q *request) error {
	wan := q.query.Get("wan") != ""
	if _, err := s.agent.Join(q.r.Context(), q.tail, wan); err != nil {
		return fmt.Errorf("agent join %q: %w", q.tail, err)
	}
	return nil
}

func (s *Server) agentLeave(q *request) error {
	if err := s.agent.Leave(q.r.Context()); err != nil {
		return fmt.Errorf("agent leave: %w", err)
	}
	return nil
}

func (s *Server) agentReload(q *request) error {
	if err := s.agent.Reload(q.r.Context()); err != nil {
		return fmt.Errorf("agent reload: %w", err)
	}
	return nil
}
